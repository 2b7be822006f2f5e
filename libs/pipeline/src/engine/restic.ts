import { readdir } from "node:fs/promises";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { EngineError } from "../errors.ts";
import { lineSplitter, resticCheckReader, type CheckProgress } from "./check-progress.ts";
import { appendOnlyRefusal, checkPasswordFile, engineEnv, isEnoent, isLocalPath, lastLine, lastLines, NETWORK_ERROR, noAnswer, notInstalled, repositoryGone, serverOf, stoppableDump, withTimeLimit } from "./common.ts";
import { commitWhenFinished, spawnEngine, type SpawnedEngine } from "./guard.ts";
import { inputPipe, outputPipe } from "./pipe.ts";
import { backendWatchdog } from "./watchdog.ts";
import { ofMachine, withMachineTag } from "../layout/tags.ts";
import { mayBeAnotherMachines, parseResticLock } from "./restic-locks.ts";
import type { BackupStdinOptions, DumpFileOptions, Engine, EngineSnapshot, RepositoryRef, StdinBackup, StdoutDump } from "./types.ts";

/** Bytes of stderr kept for error messages. */
const STDERR_KEEP = 64 * 1024;
/** Seconds restic's backend may keep failing during a backup before it is stopped. */
const BACKEND_TIMEOUT_S = 60;
/** restic's stderr while its backend fails (0.14 and 0.18: `… returned error, retrying after …: dial tcp …: connection refused`). */
const BACKEND_RETRY = /returned error, retrying|retrying after|connection refused|dial tcp|no such host|i\/o timeout|connection reset/i;
/** Seconds restic's backend may keep failing during a dump before it is stopped (restic retries for ~15 minutes). */
const DUMP_BACKEND_TIMEOUT_S = 60;
/**
 * Seconds restic's backend may keep failing during any other command (listings,
 * check, forget, prune) before it is stopped: restic 0.14 gave up on a refused
 * connection at once, 0.17 and later retry for 15 minutes.
 */
const RUN_BACKEND_TIMEOUT_S = 10;
/** Seconds `restic unlock` may take after an interrupted backup (a lost server must not hold the error up). */
const UNLOCK_TIMEOUT_S = 30;
/** Seconds between SIGINT and SIGKILL when interrupting. */
const KILL_GRACE_S = 15;

/**
 * Maps restic's stderr to one sentence naming cause and fix (restic 0.14 texts:
 * "wrong password or no key found", "Is there a repository at the following
 * location?", "repository is already locked", pack/blob/ciphertext errors),
 * and restic >= 0.17's own exit codes: 10 the repository does not exist, 11
 * it is locked, 12 the password is wrong (restic's docs, "Exit status codes").
 */
export function resticError(repo: RepositoryRef, what: string, stderr: string, exitCode?: number): EngineError {
  const loc = repo.location;
  if (exitCode === 10) return missingRepository(repo);
  if (exitCode === 11) return lockedRepository(repo);
  if (exitCode === 12 || /wrong password or no key found/i.test(stderr))
    return new EngineError(`restic cannot open the repository ${loc}: the password in ${repo.passwordFile} is wrong; put the repository's password in that file.`);
  if (NETWORK_ERROR.test(stderr))
    return new EngineError(`restic cannot reach the server ${serverOf(loc, stderr)} of the repository ${loc} (${networkCause(stderr)}); start the server or fix the location, then try again.`, "network", lastLines(stderr));
  if (/Is there a repository at the following location|repository does not exist|unable to open config file/i.test(stderr))
    return missingRepository(repo);
  if (/no space left on device/i.test(stderr))
    return new EngineError(`the disk of the restic repository ${loc} is full (${lastLine(stderr)}); free or add space there, or run retention to forget old snapshots, then try again.`, "full", lastLines(stderr));
  if (/already locked|unable to create lock/i.test(stderr)) return lockedRepository(repo);
  if (/ciphertext verification failed|invalid data returned|pack .* (not found|does not exist)|blob .* not found|load\(<data|Load\(<|unexpected EOF|damaged|corrupt|errors were found|repository contains errors|is not a valid/i.test(stderr))
    return new EngineError(`the restic repository ${loc} is damaged (${lastLine(stderr)}); run \`restic -r ${loc} check\` and repair it before the next backup.`, "damaged", lastLines(stderr));
  return new EngineError(`restic ${what} failed on ${loc} (${lastLine(stderr)}); check the repository and try again.`, "other", lastLines(stderr));
}

function missingRepository(repo: RepositoryRef): EngineError {
  const loc = repo.location;
  return repositoryGone("restic", loc) ?? new EngineError(`there is no restic repository at ${loc}; initialise it first (restic init, or qubes-dedup repo add) or fix the location.`, "missing");
}

function lockedRepository(repo: RepositoryRef): EngineError {
  // a shared repository's lock is often another machine's backup in progress, which unlock would break
  if (repo.machine) return new EngineError(`the restic repository ${repo.location} is locked by another process, perhaps another machine's backup (several machines use it); try again once it has ended, and run \`restic -r ${repo.location} unlock\` only if no machine is using it.`);
  return new EngineError(`the restic repository ${repo.location} is locked by another process; run \`restic -r ${repo.location} unlock\` if no other backup is running.`);
}

/** The network failure in a few words ("connection refused"). */
function networkCause(stderr: string): string {
  return /connection refused|no such host|i\/o timeout|connection reset by peer|network is unreachable|no route to host|TLS handshake[^\n]*/i.exec(stderr)?.[0] ?? "network error";
}

/** Extra environment and a listener of stdout chunks, for a command whose output shows its progress. */
type Watch = { env: Record<string, string>; stdout: (chunk: string) => void };

type Sub = ResultPromise<{ reject: false; buffer: false; stdin: "pipe" | "ignore"; stdout: "pipe"; stderr: "pipe" }>;

class Restic implements Engine {
  readonly kind = "restic" as const;
  constructor(readonly repo: RepositoryRef, private readonly bin: string) {}

  /**
   * The options of every call: the repository, its password file, the CA of
   * its server (--cacert) and the cache: a remote repository with a cache
   * directory keeps restic's index and trees there between runs (otherwise
   * each backup, dump and listing downloads them again); a local one reads
   * them from disk at the same cost, so it runs with --no-cache.
   */
  private base(): string[] {
    const args = ["-r", this.repo.location, "--password-file", this.repo.passwordFile];
    if (this.repo.caCert) args.push("--cacert", this.repo.caCert);
    if (this.repo.cacheDir && !isLocalPath(this.repo.location)) args.push("--cache-dir", this.repo.cacheDir);
    else args.push("--no-cache");
    return args;
  }

  private async run(what: string, args: string[], timeoutSeconds?: number, watch?: Watch): Promise<string> {
    checkPasswordFile(this.repo);
    let r;
    let timedOut = false;
    try {
      const sub = execa(this.bin, [...this.base(), ...args], { reject: false, env: { ...engineEnv(), ...watch?.env }, extendEnv: false, stdin: "ignore", maxBuffer: 256 << 20 });
      if (watch) sub.stdout.setEncoding("utf8").on("data", watch.stdout);
      // restic >= 0.17 retries an unreachable server for 15 minutes where 0.14
      // failed at once: give up after RUN_BACKEND_TIMEOUT_S of failures; the
      // stderr then names the network error and resticError says so.
      const watchdog = backendWatchdog(RUN_BACKEND_TIMEOUT_S, () => void interrupt(sub, "SIGINT", KILL_GRACE_S));
      sub.stderr.on("data", (d: Buffer) => BACKEND_RETRY.test(d.toString()) && watchdog.failure());
      try {
        ({ result: r, timedOut } = timeoutSeconds ? await withTimeLimit(sub, timeoutSeconds, "SIGINT") : { result: await sub, timedOut: false });
      } finally {
        watchdog.stop();
      }
    } catch (e) {
      if (isEnoent(e)) throw notInstalled("restic", this.bin);
      throw e;
    }
    if (isEnoent(r)) throw notInstalled("restic", this.bin);
    if (timedOut && timeoutSeconds) throw noAnswer("restic", this.repo.location, timeoutSeconds);
    if (r.exitCode !== 0) throw resticError(this.repo, what, String(r.stderr), r.exitCode);
    return String(r.stdout);
  }

  async isInitialised(opts: { timeoutSeconds?: number } = {}): Promise<boolean> {
    try {
      await this.run("cat config", ["cat", "config"], opts.timeoutSeconds);
      return true;
    } catch (e) {
      if (e instanceof EngineError && (e.failure === "missing" || e.failure === "gone")) return false;
      throw e;
    }
  }

  async init(): Promise<void> {
    await this.run("init", ["init"]);
  }

  async snapshots(opts: { tag?: string } = {}): Promise<EngineSnapshot[]> {
    const out = await this.run("snapshots", ["snapshots", "--json", ...(opts.tag ? ["--tag", opts.tag] : [])]);
    const list = JSON.parse(out || "[]") as { id: string; time: string; tags?: string[]; paths?: string[] }[];
    return ofMachine((list ?? []).map((s) => ({ id: s.id, time: new Date(s.time), tags: s.tags ?? [], paths: s.paths ?? [] })), this.repo.machine);
  }

  async repositoryBytes(): Promise<number> {
    const out = await this.run("stats", ["stats", "--mode", "raw-data", "--json"]);
    return Number((JSON.parse(out) as { total_size: number }).total_size);
  }

  async check(opts: { readDataSubset?: string; onProgress?: (p: CheckProgress) => void } = {}): Promise<void> {
    const { onProgress } = opts;
    const read = resticCheckReader();
    // one status line a second, as the step goes (restic prints only the last one on a pipe otherwise)
    const watch = onProgress && { env: { RESTIC_PROGRESS_FPS: "1" }, stdout: lineSplitter((l) => { const p = read(l); if (p) onProgress(p); }) };
    await this.run("check", ["check", ...(opts.readDataSubset ? [`--read-data-subset=${opts.readDataSubset}`] : [])], undefined, watch);
  }

  async forget(ids: string[]): Promise<void> {
    if (!ids.length) return;
    if (this.repo.appendOnly) throw appendOnlyRefusal("restic", this.repo.location, "forget");
    await this.run("forget", ["forget", "--prune", ...ids]);
  }

  async prune(): Promise<void> {
    if (this.repo.appendOnly) throw appendOnlyRefusal("restic", this.repo.location, "prune");
    await this.run("prune", ["prune"]);
  }

  /** The repository's lock ids: a directory listing for a local repository, else `restic list locks`. */
  private async locks(): Promise<string[]> {
    // only finished lock files: one a killed restic was still writing (`<id>-tmp-…`) is no lock, and unlock leaves it
    if (isLocalPath(this.repo.location)) return (await readdir(path.join(this.repo.location, "locks")).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n));
    return (await this.run("list locks", ["list", "locks", "--no-lock"], UNLOCK_TIMEOUT_S)).split("\n").filter(Boolean);
  }

  async removeStaleLocks(): Promise<number> {
    const before = await this.locks();
    if (!before.length || !(await this.unlock(before))) return 0;
    const after = new Set(await this.locks());
    return before.filter((l) => !after.has(l)).length;
  }

  /**
   * `restic unlock`; for a repository several machines share (`repo.machine`
   * set), only when no lock may be another machine's live run
   * (restic-locks.ts): such a lock, and this machine's own killed run's,
   * which looks the same, then wait for restic's 30 minutes.
   * @param locks the lock ids, when the caller has listed them
   * @returns whether unlock ran
   */
  private async unlock(locks?: string[]): Promise<boolean> {
    if (this.repo.machine) {
      for (const id of locks ?? (await this.locks())) {
        const lock = parseResticLock(await this.run("cat lock", ["cat", "lock", id, "--no-lock"], UNLOCK_TIMEOUT_S).catch(() => ""));
        if (lock && mayBeAnotherMachines(lock)) return false;
      }
    }
    await this.run("unlock", ["unlock"], UNLOCK_TIMEOUT_S);
    return true;
  }

  /**
   * restic 0.14's local backend names each snapshot file after its full id
   * (`<repo>/snapshots/<64 hex>`), so a directory listing answers what
   * `snapshots --json` would, without a process start and key derivation.
   */
  async localFullId(shortId: string): Promise<string | undefined> {
    if (!isLocalPath(this.repo.location) || !/^[0-9a-f]{8,64}$/.test(shortId)) return undefined;
    try {
      const hits = (await readdir(path.join(this.repo.location, "snapshots"))).filter((n) => /^[0-9a-f]{64}$/.test(n) && n.startsWith(shortId));
      return hits.length === 1 ? hits[0] : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Starts restic under the engine guard (guard.ts), which holds `held` (our
   * FIFO end): our death is then no end of file, and restic gets SIGINT.
   */
  private spawn(args: string[], stdin: number | "pipe" | "ignore", stdout: number | "pipe", guard: { mode: "writer" | "reader"; held: number | undefined }): SpawnedEngine<Sub> {
    checkPasswordFile(this.repo);
    // execa documents any file descriptor integer for stdin/stdout; its types list only 1-9
    return spawnEngine(this.bin, [...this.base(), ...args], { stdin, stdout, buffer: false, env: engineEnv({ RESTIC_PROGRESS_FPS: "0.5" }), guard: { stop: "SIGINT", ...guard } }, execa as never);
  }

  backupStdin(opts: BackupStdinOptions): StdinBackup {
    const args = ["backup", "--stdin", "--stdin-filename", opts.filename, "--json"];
    for (const t of withMachineTag(opts.tags, this.repo.machine)) args.push("--tag", t);
    const host = opts.hostname ?? this.repo.machine;
    if (host) args.push("--host", host);
    const pipe = inputPipe();
    const { sub, control } = pipe.spawnWith((fd) => this.spawn(args, fd, "pipe", { mode: "writer", held: pipe.ourFd }));
    const stdin = pipe.ours(sub.stdin);
    commitWhenFinished(stdin, control);
    const limit = opts.backendTimeoutSeconds ?? BACKEND_TIMEOUT_S;
    const grace = Math.min(KILL_GRACE_S, limit);
    let stderr = "";
    let stuck: EngineError | undefined;
    const watchdog = backendWatchdog(limit, () => {
      stuck = new EngineError(`restic lost the server ${serverOf(this.repo.location, stderr)} of the repository ${this.repo.location}: its uploads kept failing for ${limit} seconds (${networkCause(stderr)}); nothing was stored, bring the server back and run the backup again.`, "network", lastLines(stderr));
      void interrupt(sub, "SIGINT", grace);
    });
    let summary: { snapshot_id?: string; data_added?: number } | undefined;
    let pending = "";
    sub.stderr.on("data", (d: Buffer) => {
      const text = d.toString();
      stderr = (stderr + text).slice(-STDERR_KEEP);
      if (BACKEND_RETRY.test(text)) watchdog.failure();
    });
    sub.stdout.on("data", (d: Buffer) => {
      const lines = (pending + d.toString()).split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines) if (l.includes('"summary"')) summary = JSON.parse(l);
    });
    stdin.on("error", () => {}); // EPIPE when restic exits early; its exit status tells why
    const done = (async () => {
      const r = await sub;
      watchdog.stop();
      if (stuck) throw stuck;
      if (pending.includes('"summary"')) summary = JSON.parse(pending);
      if (isEnoent(r)) throw notInstalled("restic", this.bin);
      if (r.exitCode !== 0 || !summary?.snapshot_id) throw resticError(this.repo, "backup", stderr, r.exitCode);
      return { snapshotId: summary.snapshot_id, addedBytes: Number(summary.data_added ?? 0) };
    })();
    done.catch(() => {});
    const stop = async () => {
      await interrupt(sub, "SIGINT", grace);
      // a SIGINT during restic's start-up can leave its lock file behind (see
      // stoppableDump in common.ts); `unlock` removes only the locks of processes that are gone
      if (!summary) await this.unlock().catch(() => {});
    };
    return { stdin, done, interrupt: stop };
  }

  dumpFile(snapshotId: string, filename: string, opts: DumpFileOptions = {}): StdoutDump {
    const pipe = outputPipe();
    const { sub } = pipe.spawnWith((fd) => this.spawn(["dump", snapshotId, `/${filename}`], "ignore", fd, { mode: "reader", held: pipe.ourFd }));
    const output = pipe.ours(sub.stdout);
    const limit = opts.backendTimeoutSeconds ?? DUMP_BACKEND_TIMEOUT_S;
    let stderr = "";
    let stuck: EngineError | undefined;
    const watchdog = backendWatchdog(limit, () => {
      stuck = new EngineError(`restic lost the server ${serverOf(this.repo.location, stderr)} of the repository ${this.repo.location} during the restore: its downloads kept failing for ${limit} seconds (${networkCause(stderr)}); the stream is incomplete, bring the server back and restore again.`, "network", lastLines(stderr));
      void interrupt(sub, "SIGINT", Math.min(KILL_GRACE_S, limit));
    });
    sub.stderr.on("data", (d: Buffer) => {
      const text = d.toString();
      stderr = (stderr + text).slice(-STDERR_KEEP);
      if (BACKEND_RETRY.test(text)) watchdog.failure();
    });
    void Promise.resolve(sub).finally(() => watchdog.stop());
    // SIGINT, not SIGTERM: restic 0.14 removes its lock only on SIGINT, and a
    // left-over lock blocks check and prune until someone runs `restic unlock`.
    return stoppableDump(sub, output, "SIGINT", (_code, r) => stuck ?? (isEnoent(r) ? notInstalled("restic", this.bin) : resticError(this.repo, "dump", stderr)));
  }
}

/**
 * Stops an engine without a snapshot: `signal` (restic: SIGINT, after which it
 * removes its lock and writes nothing), then SIGKILL if it lingers.
 */
export async function interrupt(sub: { kill(s?: NodeJS.Signals): boolean; exitCode?: number | null; then: PromiseLike<unknown>["then"] }, signal: NodeJS.Signals = "SIGINT", graceSeconds = KILL_GRACE_S): Promise<void> {
  sub.kill(signal);
  const timer = setTimeout(() => sub.kill("SIGKILL"), graceSeconds * 1000);
  try {
    await Promise.resolve(sub).catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}

export function openRestic(repo: RepositoryRef, binary = "restic"): Engine {
  return new Restic(repo, binary);
}
