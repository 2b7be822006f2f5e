import fs from "node:fs";
import path from "node:path";
import type { Writable } from "node:stream";

/**
 * The engine guard: a small python3 parent of every streaming engine process
 * (restic backup --stdin / dump, borg create - / extract --stdout) that makes
 * the engine's end of file mean "the stream is complete", never "ingest died".
 *
 * Why: restic 0.14 and borg 1.2 read stdin to its end and then commit a
 * snapshot. When ingest is killed (SIGKILL, OOM, power cut of the process),
 * the kernel closes its end of the engine's FIFO, the engine sees a clean
 * end of file and commits a truncated data snapshot. The guard holds a second
 * copy of our end of the FIFO (fd 4), so our death is no end of file; it
 * watches a control pipe from us (fd 3): `commit` lets it close its copy (the
 * engine then sees the end of the stream and commits); an end of the control
 * pipe without `commit` (we died, or gave up) makes it stop the engine with
 * its clean stop signal (restic SIGINT, borg SIGTERM: no snapshot, lock
 * removed), SIGKILL after a grace period. For a dump, fd 4 is a copy of the
 * read end: once we are gone the guard drains it, so the engine is never
 * stuck writing (or killed by SIGPIPE) while it holds its lock.
 * The engine also gets PR_SET_PDEATHSIG=SIGKILL towards the guard, so a
 * killed guard cannot leave it reading from a FIFO that ends later.
 *
 * Signals sent to the guard (execa's kill) are passed on to the engine; the
 * guard exits with the engine's status (128 + signal when it was killed).
 * python3 is in every Qubes template (qubes-core-agent needs it); without it
 * engines run unguarded (see {@link guardAvailable}).
 *
 * Measured here (restic 0.14.0, borg 1.2.4): ingest SIGKILLed mid-stream
 * left a truncated data snapshot on every try without the guard, none with it
 * (libs/pipeline/test/crash.test.ts).
 */
const GUARD_PY = String.raw`
import ctypes, os, select, signal, sys, time
stop_sig = getattr(signal, sys.argv[1]); grace = float(sys.argv[2]); mode = sys.argv[3]; argv = sys.argv[4:]
guard = os.getpid()
pid = os.fork()
if pid == 0:
    try:
        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
        if os.getppid() != guard: os._exit(137)
        os.close(3); os.close(4)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
for fd in (0, 1): os.close(fd)
def forward(s, _f):
    try: os.kill(pid, s)
    except ProcessLookupError: pass
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP): signal.signal(s, forward)
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
status = None
def reap(block):
    global status
    if status is None:
        try:
            p, st = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            p, st = pid, 0
        if p == pid: status = st
    return status is not None
ctl, held, buf, watching, stop_at, killed = 3, 4, b"", True, None, False
while not reap(False):
    fds = ([ctl] if watching else []) + ([held] if stop_at is not None and held is not None and mode == "reader" else [])
    try:
        ready = select.select(fds, [], [], 0.05)[0]
    except InterruptedError:
        continue
    if ctl in ready:
        data = os.read(ctl, 64)
        buf += data
        if b"commit\n" in buf and held is not None and mode == "writer":
            os.close(held); held = None
        if not data:
            watching = False
            if b"commit\n" not in buf:
                stop_at = time.monotonic(); forward(stop_sig, None)
    if held is not None and held in ready:
        try:
            os.read(held, 1 << 20)
        except BlockingIOError:
            pass
    if stop_at is not None and not killed and time.monotonic() - stop_at > grace:
        killed = True; forward(signal.SIGKILL, None)
reap(True)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

/** The system's python3 (not a wrapper on PATH, such as pyenv's, which is slower to start). */
const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** Seconds the guard waits after the clean stop signal before SIGKILL. */
const GUARD_GRACE_S = 15;

let available: boolean | undefined;
/** True when python3 can run the guard (checked once per process); QUBES_DEDUP_UNGUARDED=1 turns the guard off (tests show what it prevents). */
export function guardAvailable(): boolean {
  if (process.env.QUBES_DEDUP_UNGUARDED === "1") return false;
  available ??= fs.existsSync(PYTHON) || (process.env.PATH ?? "").split(":").some((d) => d && fs.existsSync(path.join(d, "python3")));
  return available;
}

/** True when `bin` names an executable (a path, or a name found on PATH). */
export function onPath(bin: string): boolean {
  const ok = (f: string) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (bin.includes("/")) return ok(bin);
  return (process.env.PATH ?? "").split(":").some((d) => d && ok(path.join(d, bin)));
}

/**
 * The command line that runs `bin args` under the guard.
 * @param stopSignal the engine's clean stop (restic SIGINT, borg SIGTERM)
 * @param mode "writer": fd 4 is a copy of the FIFO end we write the engine's stdin to;
 *   "reader": fd 4 is a copy of the end we read its stdout from
 * @returns [file, args] for spawn; give it stdio[3] = "pipe" (the control pipe) and stdio[4] = the copy
 */
export function guardedCommand(bin: string, args: string[], stopSignal: NodeJS.Signals, mode: "writer" | "reader"): [string, string[]] {
  return [PYTHON, ["-I", "-S", "-c", GUARD_PY, stopSignal, String(GUARD_GRACE_S), mode, bin, ...args]];
}

/**
 * Tells the guard that the stream is complete, once everything written to
 * `stdin` reached the FIFO: only then does the engine see its end of file.
 * @param control the guard's control pipe (the spawned child's stdio[3])
 */
export function commitWhenFinished(stdin: Writable, control: Writable | undefined): void {
  if (!control) return;
  control.on("error", () => {});
  stdin.once("finish", () => control.end("commit\n"));
}

/** How to start one streaming engine process. */
export interface EngineSpawn {
  /** the child's stdin / stdout: a FIFO end's descriptor, "pipe" or "ignore" */
  stdin: number | "pipe" | "ignore";
  stdout: number | "pipe";
  env: Record<string, string>;
  /** execa's buffer option (false: we read the streams ourselves) */
  buffer: boolean | { stdout: boolean; stderr: boolean };
  /** run under the guard, holding `held` (our FIFO end); unguarded when undefined or python3 is missing */
  guard?: { stop: NodeJS.Signals; mode: "writer" | "reader"; held: number | undefined };
}

/** A spawned engine, and the guard's control pipe when it runs guarded. */
export interface SpawnedEngine<S> {
  sub: S;
  control?: Writable;
}

/**
 * Spawns `bin args` through execa, under the guard when it can (python3
 * present, `bin` found, a FIFO end to hold); a missing `bin` is spawned as it
 * is, so that execa reports ENOENT as before.
 */
export function spawnEngine<S>(bin: string, args: string[], o: EngineSpawn, execaFn: (file: string, args: string[], opts: object) => S): SpawnedEngine<S> {
  const base = { reject: false, buffer: o.buffer, env: o.env, extendEnv: false };
  const g = o.guard;
  if (!g || g.held === undefined || !guardAvailable() || !onPath(bin)) {
    return { sub: execaFn(bin, args, { ...base, stdin: o.stdin, stdout: o.stdout, stderr: "pipe" }) };
  }
  const [file, gargs] = guardedCommand(bin, args, g.stop, g.mode);
  const sub = execaFn(file, gargs, { ...base, stdio: [o.stdin, o.stdout, "pipe", "pipe", g.held] });
  const control = (sub as unknown as { stdio: (Writable | null)[] }).stdio[3] ?? undefined;
  return { sub, control };
}
