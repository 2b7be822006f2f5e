import fs from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { EngineError } from "../errors.ts";
import { notInstalledText } from "./binary.ts";
import type { RepositoryRef, StdoutDump } from "./types.ts";

/** Environment for engine processes: ours, minus variables that would override the repository or password. */
export function engineEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(RESTIC_|BORG_)(REPOSITORY|REPO|PASSWORD|PASSPHRASE|PASSCOMMAND|PASSWORD_FILE|PASSWORD_COMMAND|KEY_FILE)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Throws EngineError unless the password file can be read. */
export function checkPasswordFile(repo: RepositoryRef): void {
  try {
    fs.accessSync(repo.passwordFile, fs.constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new EngineError(`the repository password file ${repo.passwordFile} cannot be read (${code}); create it or fix its permissions.`);
  }
}

/** Last meaningful line of an engine's stderr, for messages. */
export function lastLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("{"));
  return (lines[lines.length - 1] ?? "no error output").replace(/^Fatal: /, "");
}

/** The last `n` meaningful lines of an engine's stderr, joined by "; ", for messages that quote the engine. */
export function lastLines(stderr: string, n = 2): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("{"));
  return lines.slice(-n).join("; ").replace(/^Fatal: /, "") || "no error output";
}

/** Engine output that means the network, not the repository, failed (Go's net errors, DNS, TLS). */
export const NETWORK_ERROR = /dial tcp|connection refused|no such host|i\/o timeout|connection reset by peer|network is unreachable|no route to host|TLS handshake|server misbehaving|EOF \(connection|Remote: Connection closed|Connection closed by remote host/i;

/**
 * The server a remote location names, without credentials (rest:https://user:pw@host:8000/x
 * -> https://host:8000); the dial target from the engine's output for other backends.
 */
export function serverOf(location: string, stderr = ""): string {
  const url = location.replace(/^rest:/, "");
  try {
    const u = new URL(url);
    if (u.host) return `${u.protocol}//${u.host}`;
  } catch {
    // not a URL: sftp:host:/path, user@host:path
  }
  return /dial tcp ([^\s:]+:\d+)/.exec(stderr)?.[1] ?? location.replace(/^[a-z0-9]+:/i, "").split(/[:/]/)[0] ?? location;
}

/** True for a location on this machine (a path), not a server's. */
export function isLocalPath(location: string): boolean {
  return !/^[a-z0-9+]+:/i.test(location) && !/^[^/]*@[^/]*:/.test(location);
}

/** The repository was registered but its directory is gone (deleted, unmounted). */
export function repositoryGone(kind: "restic" | "borg", location: string): EngineError | undefined {
  if (!isLocalPath(location) || fs.existsSync(location)) return undefined;
  return new EngineError(`the ${kind} repository ${location} is gone (the directory does not exist; deleted or not mounted); mount or restore it, or register a new repository with qubes-dedup repo add.`, "gone");
}

/**
 * A location as it may be shown: the password of a URL's user part replaced
 * by *** as restic shows it (rest:https://alice:***@host:8000/alice/).
 */
export function withoutPassword(location: string): string {
  return location.replace(/^((?:rest:)?[a-z][a-z0-9+.-]*:\/\/[^/:@\s]+):[^@/\s]*@/i, "$1:***@");
}

/**
 * The one sentence of a forget or prune asked of an append-only repository:
 * nothing is sent to the server, nothing is deleted.
 * @param what "forget" or "prune"
 */
export function appendOnlyRefusal(kind: "restic" | "borg", location: string, what: "forget" | "prune"): EngineError {
  return new EngineError(`the ${kind} repository ${withoutPassword(location)} is append-only (its server refuses deletions), so this machine cannot ${what} snapshots and nothing was deleted; run retention on the server with its administrator's credentials (docs/INSTALL-QUBES.md, section 3.5).`, "append-only");
}

/** The engine's executable cannot be started (wording in binary.ts, notInstalledText). */
export function notInstalled(kind: "restic" | "borg", bin: string): EngineError {
  return new EngineError(notInstalledText(kind, bin));
}

/** True for execa's "binary not found" failure. */
export function isEnoent(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === "ENOENT" || err?.cause?.code === "ENOENT";
}

/** Seconds an engine gets to exit after its stop signal before SIGKILL. */
const STOP_GRACE_S = 15;

/** The parts of a spawned engine (execa's result) a dump needs. */
export interface DumpProcess extends PromiseLike<{ exitCode?: number }> {
  kill(signal?: NodeJS.Signals): boolean;
}

/**
 * Wraps a running `dump` / `extract --stdout` so that the engine never dies
 * of SIGPIPE while it holds its repository lock: the caller reads a pass-through
 * copy, and once the caller stops (kill(), or destroys what it reads) the
 * engine's output is drained into nothing until the engine has exited after
 * `signal` (restic removes its lock on SIGINT, borg on SIGTERM).
 *
 * The signal waits for the engine's first output byte (or its exit): restic
 * 0.14 writes its lock file and only ~200 ms later records it for removal, so
 * a SIGINT during start-up leaves a lock that blocks `check` and `prune` until
 * someone runs `restic unlock`. Output means the lock is recorded. An engine
 * whose output has ended is left to exit on its own (it is releasing its lock).
 * @param output what the engine writes (engine/pipe.ts outputPipe's end)
 * @param fail maps a failed exit (code ≠ 0, not stopped) to the error `done` rejects with
 */
export function stoppableDump(sub: DumpProcess, output: Readable, signal: NodeJS.Signals, fail: (exitCode: number | undefined, result: unknown) => Error): StdoutDump {
  const out = new PassThrough({ highWaterMark: 256 << 10 });
  let ended = false;
  let produced = 0;
  output.on("data", (d: Buffer) => (produced += d.length));
  const started = new Promise<void>((resolve) => {
    output.once("data", () => resolve());
    output.once("end", () => ((ended = true), resolve()));
    output.once("error", () => resolve());
  });
  output.pipe(out);
  let stopped: Promise<void> | undefined;
  const exited = Promise.resolve(sub).then((r) => r, (e: unknown) => e as { exitCode?: number });
  const kill = (): Promise<void> => {
    stopped ??= (async () => {
      output.unpipe(out);
      output.on("data", () => {});
      output.resume();
      out.end();
      const timer = setTimeout(() => sub.kill("SIGKILL"), STOP_GRACE_S * 1000);
      await Promise.race([started, exited]);
      // an engine whose output has ended is closing its repository: a signal now could cut that short
      if (!ended) sub.kill(signal);
      await exited;
      clearTimeout(timer);
    })();
    return stopped;
  };
  // the reader went away without saying so (a for-await loop that broke off destroys its stream)
  out.on("close", () => {
    if (!out.readableEnded) void kill();
  });
  const done = exited.then((r) => {
    if (stopped) return;
    if (r?.exitCode !== 0) throw fail(r?.exitCode, r);
  });
  done.catch(() => {});
  return { stdout: out, done, kill, bytesOut: () => produced };
}

/** The engine was stopped after `seconds` without an answer from the repository's server. */
export function noAnswer(kind: "restic" | "borg", location: string, seconds: number): EngineError {
  return new EngineError(`${kind} got no answer from the server ${serverOf(location)} of the repository ${location} within ${seconds} seconds (it is unreachable or not answering); check that the server is up and the location is right, then try again.`, "network");
}

/** The processes below `pid` (children, theirs, …), from /proc/<pid>/task/<tid>/children (Linux). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids: string;
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8");
    } catch {
      continue;
    }
    for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) out.push(k, ...descendants(k));
  }
  return out;
}

/**
 * Runs `start()` (an execa call) for at most `seconds`: then the engine gets
 * `signal` and everything it started (restic's ssh for sftp, which it puts
 * in a process group of its own, would otherwise wait for a silent server
 * forever) SIGTERM, and whatever is left SIGKILL 5 s later.
 * @returns the engine's result and whether the limit was hit
 */
export async function withTimeLimit<R>(sub: PromiseLike<R> & { pid?: number; kill(s?: NodeJS.Signals): boolean }, seconds: number, signal: NodeJS.Signals): Promise<{ result: R; timedOut: boolean }> {
  let timedOut = false;
  let hard: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    const tree = sub.pid ? descendants(sub.pid) : [];
    sub.kill(signal);
    const term = (s: NodeJS.Signals) => tree.forEach((p) => { try { process.kill(p, s); } catch { /* gone */ } });
    term("SIGTERM");
    hard = setTimeout(() => (sub.kill("SIGKILL"), term("SIGKILL")), 5000);
  }, seconds * 1000);
  try {
    return { result: await sub, timedOut };
  } finally {
    clearTimeout(timer);
    clearTimeout(hard);
  }
}
