/**
 * The bubblewrap runner: debugfs in a sandbox with no network and no other
 * namespace shared (`--unshare-all`), only debugfs (and, for `tar`, sh and
 * GNU tar) and their shared libraries bound read-only, the image bound
 * read-only at /img, a fresh size-limited tmpfs at /tmp, an empty
 * environment, all capabilities dropped, killed with its parent
 * (`--die-with-parent`) and on timeout, in its own session (`--new-session`,
 * so it cannot push input into our terminal, CVE-2017-5226).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { FilesError } from "./errors.ts";
import { collectStderr, drainBounded } from "./bounded.ts";
import { batched, debugfsCommands, deviceArg, type FsRequest } from "./request.ts";
import type { FsTransport, RunOptions, RunResult } from "./transport.ts";

/** Programs the reader needs, by where Debian and Fedora install them. */
export interface SandboxTools {
  bwrap: string;
  debugfs: string;
  sh: string;
  tar: string;
}

const DEFAULT_TOOLS: SandboxTools = { bwrap: "/usr/bin/bwrap", debugfs: "/usr/sbin/debugfs", sh: "/bin/sh", tar: "/usr/bin/tar" };

/** Where the image appears inside the sandbox. */
const IMAGE = "/img";

/**
 * bwrap's arguments for one request: pure, so the sandbox's shape is tested.
 * @param tools host paths of the programs (bound read-only at the same path, sh at /bin/sh)
 */
export function bwrapArgs(image: string, req: FsRequest, tools: SandboxTools, scratchBytes: number, libDirs: string[]): string[] {
  const dev = deviceArg(IMAGE, req.offset);
  const ro = (p: string, at = p) => ["--ro-bind", p, at];
  const a = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv", "--setenv", "DEBUGFS_PAGER", "__none__", "--setenv", "PAGER", "__none__", "--setenv", "LC_ALL", "C"];
  for (const d of libDirs) a.push(...ro(d));
  a.push(...ro(tools.debugfs, "/usr/sbin/debugfs"), "--dev", "/dev", "--size", String(scratchBytes), "--tmpfs", "/tmp", ...ro(image, IMAGE), "--chdir", "/tmp");
  const [cmd] = debugfsCommands(req);
  if (req.op === "tar") {
    a.push(...ro(tools.sh, "/bin/sh"), ...ro(tools.tar, "/usr/bin/tar"));
    // rdump names its copy after the argument, "<N>"; tar sends the copy's content
    const script = '/usr/sbin/debugfs -R "$1" "$2" && cd "/tmp/$3" && exec /usr/bin/tar --numeric-owner --format=gnu -cf - .';
    return [...a, "--", "/bin/sh", "-c", script, "sh", cmd!, dev, `<${req.inodes[0]}>`];
  }
  if (batched(req)) return [...a, "--", "/usr/sbin/debugfs", "-f", "-", dev];
  return [...a, "--", "/usr/sbin/debugfs", "-R", cmd!, dev];
}

/** Library directories to bind: /usr/lib*, and /lib* where they are real directories (not merged /usr). */
function libraryDirs(): { binds: string[]; links: [string, string][] } {
  const binds: string[] = [];
  const links: [string, string][] = [];
  // turbopackIgnore: the dashboard's build would otherwise trace (and ship) the whole project for these system paths
  for (const d of ["/usr/lib", "/usr/lib64", "/usr/lib32"]) if (fs.existsSync(/*turbopackIgnore: true*/ d)) binds.push(d);
  for (const d of ["/lib", "/lib64"]) {
    const st = fs.lstatSync(/*turbopackIgnore: true*/ d, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) links.push([fs.readlinkSync(d), d]);
    else if (st?.isDirectory()) binds.push(d);
  }
  return { binds, links };
}

/** Runs each request in a fresh bubblewrap sandbox (bubblewrap ≥ 0.5 for --size). */
export class BwrapTransport implements FsTransport {
  readonly name = "bubblewrap";
  constructor(private readonly tools: SandboxTools = DEFAULT_TOOLS) {}

  async run(image: string, req: FsRequest, opts: RunOptions): Promise<RunResult> {
    this.checkTools(req);
    const lib = libraryDirs();
    const args = bwrapArgs(image, req, this.tools, opts.scratchBytes ?? 16 << 20, lib.binds);
    // symlinks (merged /usr) go before the command
    const at = args.indexOf("--chdir");
    args.splice(at, 0, ...lib.links.flatMap(([target, link]) => ["--symlink", target, link]));
    // its own process group: a kill reaches bwrap's child too while it is still being set up
    // (before its parent-death signal is armed, it would otherwise outlive bwrap, waiting forever)
    const child = spawn(this.tools.bwrap, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group is gone already
      }
    };
    let killed: "timeout" | "overflow" | undefined;
    const kill = (why: "timeout" | "overflow") => {
      killed ??= why;
      killGroup();
      // whatever still holds the pipes open (a sandbox past its own setsid) ends at its next write
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(() => kill("timeout"), opts.timeoutSeconds * 1000);
    const exited = new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((res) => {
      child.on("error", (error: NodeJS.ErrnoException) => res({ code: null, error }));
      child.on("close", (code) => res({ code }));
    });
    child.stdin.on("error", () => {});
    child.stdin.end(batched(req) ? debugfsCommands(req).join("\n") + "\n" : "");
    // a killed sandbox's stderr ends early (destroyed): what came before is all there is
    const stderr = collectStderr(child.stderr).catch(() => "");
    try {
      const timedOut = () => new FilesError(`reading the filesystem took more than ${opts.timeoutSeconds} s, so the sandbox was killed; the image may be crafted to stall the reader, try the same volume in another snapshot.`, "sandbox");
      const out = await drainBounded(child.stdout, opts.maxBytes, opts.output, () => kill("overflow")).catch(async (e) => {
        await exited;
        throw killed === "timeout" ? timedOut() : e;
      });
      const { code, error } = await exited;
      const err = await stderr;
      if (error) throw new FilesError(`the sandbox cannot start: ${this.tools.bwrap} failed (${error.code ?? error.message}); install bubblewrap (Debian and Fedora package "bubblewrap").`, "sandbox");
      if (killed === "timeout") throw timedOut();
      if (code !== 0) this.failed(code, err);
      return { ...out, stderr: err };
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null) killGroup();
    }
  }

  private checkTools(req: FsRequest): void {
    const need: (keyof SandboxTools)[] = ["bwrap", "debugfs", ...(req.op === "tar" ? (["sh", "tar"] as const) : [])];
    for (const k of need) {
      if (!fs.existsSync(this.tools[k])) {
        const pkg = { bwrap: "bubblewrap", debugfs: "e2fsprogs", sh: "dash", tar: "tar" }[k];
        throw new FilesError(`the sandbox cannot start: ${this.tools[k]} is missing; install the "${pkg}" package.`, "sandbox");
      }
    }
  }

  /** A non-zero exit: bwrap's own failure names the cause (user namespaces off, say); debugfs's is a corrupt image. */
  private failed(code: number | null, stderr: string): never {
    const line = stderr.split("\n").find((l) => l.startsWith("bwrap: "));
    if (line) throw new FilesError(`the sandbox cannot start (${line.slice(0, 200)}); bubblewrap needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or root.`, "sandbox");
    throw new FilesError(`the sandboxed reader failed (exit status ${code}), so the filesystem is likely corrupt; try the same volume in another snapshot.`, "bad-filesystem");
  }
}
