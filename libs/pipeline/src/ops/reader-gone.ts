import { spawn } from "node:child_process";

/**
 * Milliseconds a dump of chosen qubes waits, before it starts reading their
 * data, for its reader to leave: qvm-backup-restore's header and qubes.xml
 * retrievals close the pipe as soon as they see the first qube's member
 * header (DESIGN.md: three retrievals, each cut short), and restic dump or
 * borg extract read at least one chunk (up to 8 MiB) before anything tells
 * us so.
 */
export const READER_WAIT_MS = 300;

// poll(2) with no events still reports POLLERR and POLLHUP: a pipe's write end
// gets POLLERR once its reader closed it, a socket (Node's child stdio) POLLHUP
const PROBE = [
  "import os, select, stat, sys",
  "m = os.fstat(3).st_mode",
  "if not (stat.S_ISFIFO(m) or stat.S_ISSOCK(m)): sys.exit(0)",
  "p = select.poll(); p.register(3, 0)",
  "sys.exit(1 if p.poll(int(sys.argv[1])) else 0)",
].join("\n");

/**
 * True when `out` is a pipe (or socket) whose reader closed it, or closes it within
 * `ms` (python3 polls its descriptor: Node only finds out on its next
 * write, and a pipe's reader may leave after the bytes already written).
 * False for a pipe still read, for anything that is not a pipe, and when
 * the probe cannot run (no python3): then the data is read as before.
 */
export async function readerLeaves(out: NodeJS.WritableStream, ms = READER_WAIT_MS): Promise<boolean> {
  const fd = (out as { fd?: unknown }).fd;
  if (typeof fd !== "number") return false;
  return new Promise((resolve) => {
    try {
      const child = spawn("python3", ["-c", PROBE, String(ms)], { stdio: ["ignore", "ignore", "ignore", fd] });
      child.on("error", () => resolve(false));
      child.on("close", (code) => resolve(code === 1));
    } catch {
      resolve(false);
    }
  });
}
