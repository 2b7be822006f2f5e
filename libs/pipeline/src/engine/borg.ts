import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { EngineError } from "../errors.ts";
import { borgCheckProgress, lineSplitter, withoutStatusFragments, type CheckProgress } from "./check-progress.ts";
import { appendOnlyRefusal, checkPasswordFile, engineEnv, isEnoent, isLocalPath, NETWORK_ERROR, noAnswer, notInstalled, repositoryGone, serverOf, stoppableDump, withTimeLimit, type DumpProcess } from "./common.ts";
import { interrupt } from "./restic.ts";
import { borgLockHolders } from "./borg-locks.ts";
import { commitWhenFinished, spawnEngine, type SpawnedEngine } from "./guard.ts";
import { inputPipe, outputPipe } from "./pipe.ts";
import { ofMachine, withMachineTag } from "../layout/tags.ts";

/** A borg process as execa returns it (stdin/stdout per its options, stderr a pipe). */
type BorgSub = ReturnType<typeof execa<{ reject: false; buffer: false; stdin: "pipe"; stdout: "pipe"; stderr: "pipe" }>>;
import type { BackupStdinOptions, DumpFileOptions, Engine, EngineSnapshot, RepositoryRef, StdinBackup, StdoutDump } from "./types.ts";

const STDERR_KEEP = 64 * 1024;
/** Seconds a server over SSH may stay silent during a backup or a restore before borg gives up (as restic's backend watchdog). */
const BACKEND_TIMEOUT_S = 60;
/** The same for every other command (listings, check, delete, compact). */
const RUN_BACKEND_TIMEOUT_S = 30;

/**
 * borg's backend watchdog: borg waits forever for a server over SSH that
 * stopped answering (no retries, no timeout of its own), so its ssh sends
 * keep-alives (ServerAliveInterval) and gives up after about `seconds`
 * without an answer, which ends borg with "Connection closed by remote
 * host" (borgError: "borg lost the server …"). Keep-alives start only once
 * a session is up, so a server that accepts connections but never answers
 * (stopped, overloaded) would still hang each new connection in its banner
 * exchange: ConnectTimeout bounds that too. Each data part of a snapshot
 * (per-qube layout) opens a connection of its own, so this case is as
 * common as a broken one. Options already in `rsh` (BORG_RSH) win: ssh takes
 * the first value of each.
 * @param seconds how long the server may stay silent
 * @returns `rsh` with `-o ServerAliveInterval=… -o ServerAliveCountMax=… -o ConnectTimeout=…` appended
 */
export function sshKeepAlive(rsh: string, seconds: number): string {
  const interval = Math.max(1, Math.min(5, Math.floor(seconds / 3)));
  return `${rsh} -o ServerAliveInterval=${interval} -o ServerAliveCountMax=${Math.max(1, Math.ceil(seconds / interval))} -o ConnectTimeout=${Math.max(1, Math.ceil(seconds))}`;
}

/** Segment size of the borg repositories this project creates (borg's default: 500 MiB). */
export const BORG_SEGMENT_BYTES = 64 << 20;
/** How borg's reserve is worded in messages. */
const SEGMENT_WORDS = "segment file";

/**
 * Maps borg 1.2's stderr to one sentence naming cause and fix ("passphrase
 * supplied in BORG_PASSPHRASE … is incorrect", "Repository … does not exist",
 * "Failed to create/acquire the lock", integrity errors).
 */
export function borgError(repo: RepositoryRef, what: string, stderr: string): EngineError {
  const loc = repo.location;
  if (/passphrase supplied in BORG_PASSPHRASE.*is incorrect/is.test(stderr))
    return new EngineError(`borg cannot open the repository ${loc}: the password in ${repo.passwordFile} is wrong; put the repository's passphrase in that file.`);
  const notBorg = notABorgRepository(loc);
  if (notBorg) return notBorg;
  // a connection that was up and then ended: the server was killed or its ssh keep-alives went unanswered (sshKeepAlive)
  if (/Connection closed by remote host/i.test(stderr) && !/ssh: connect to host|Could not resolve hostname|Permission denied/i.test(stderr))
    return new EngineError(`borg lost the server ${serverOf(loc, stderr)} of the repository ${loc}: it went away or stopped answering; bring the server back and run it again (nothing incomplete is kept).`, "network", borgDetail(stderr));
  if (NETWORK_ERROR.test(stderr) || /Could not resolve hostname|ssh: connect to host/i.test(stderr))
    return new EngineError(`borg cannot reach the server ${serverOf(loc, stderr)} of the repository ${loc} (${borgDetail(stderr)}); start the server or fix the location, then try again.`, "network", borgDetail(stderr));
  if (/does not exist|is not a valid repository/i.test(stderr))
    return repositoryGone("borg", loc) ?? new EngineError(`there is no borg repository at ${loc}; initialise it first (borg init, or qubes-dedup repo add) or fix the location.`, "missing");
  const space = /Insufficient free space to complete transaction \(required: ([^,]+), available: ([^)]+)\)/.exec(stderr);
  if (space)
    return new EngineError(`borg needs ${space[1]} free on the disk of the repository ${loc} before it writes anything (one ${SEGMENT_WORDS} plus its index), and only ${space[2]} are free; free or add space there, or run retention, then try again.`, "full", borgDetail(stderr));
  if (/No space left on device/i.test(stderr))
    return new EngineError(`the disk of the borg repository ${loc} is full (borg rolled its partial transaction back); free or add space there, or run retention to forget old snapshots, then try again.`, "full", borgDetail(stderr));
  if (/Failed to create\/acquire the lock|LockTimeout|lock.*timeout/i.test(stderr))
    return new EngineError(`the borg repository ${loc} is locked by another process; run \`borg break-lock ${loc}\` if no other backup is running.`);
  if (/IntegrityError|integrity|corrupt|Data integrity error|segment .* (missing|damaged)|ObjectNotFound/i.test(stderr))
    return new EngineError(`the borg repository ${loc} is damaged (${borgDetail(stderr)}); run \`borg check --repair ${loc}\` before the next backup.`, "damaged", borgDetail(stderr));
  return new EngineError(`borg ${what} failed on ${loc} (${borgDetail(stderr)}); check the repository and try again.`, "other", borgDetail(stderr));
}

/** Lines of borg's crash report around a traceback: not the error itself. */
const BORG_NOISE = /^(\s|Traceback|Local Exception|Exception ignored|AssertionError: cleanup|Platform:|Linux:|Borg:|PID:|sys\.argv:|SSH_ORIGINAL_COMMAND:|\^)/;

/** borg's own error sentence: the first line that is not crash-report noise (borg prints it before the traceback). */
export function borgDetail(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() && !BORG_NOISE.test(l) && !l.startsWith("{"));
  return (lines[0] ?? "no error output").trim();
}

/**
 * A local directory whose `config` is not borg's (an INI file starting
 * "[repository]"): borg would crash on it with a Python traceback.
 */
function notABorgRepository(loc: string): EngineError | undefined {
  if (!isLocalPath(loc)) return undefined;
  let head: string;
  try {
    const fd = fs.openSync(path.join(loc, "config"), "r");
    const b = Buffer.alloc(32);
    const n = fs.readSync(fd, b, 0, b.length, 0);
    fs.closeSync(fd);
    head = b.subarray(0, n).toString("latin1");
  } catch {
    return undefined;
  }
  if (head.startsWith("[repository]")) return undefined;
  const restic = fs.existsSync(path.join(loc, "keys")) && fs.existsSync(path.join(loc, "snapshots"));
  return new EngineError(`${loc} is not a borg repository${restic ? " (it is a restic one)" : ""}; point the location at a borg repository${restic ? ", or register this one with --engine restic" : ""}.`, "missing");
}

/** Archive names carry the tags (borg has none): `tag1,tag2,…`. */
const archiveName = (tags: string[]) => tags.join(",");

class Borg implements Engine {
  readonly kind = "borg" as const;
  constructor(readonly repo: RepositoryRef, private readonly bin: string) {}

  /**
   * @param backendTimeoutSeconds for a repository over SSH: seconds the
   *   server may stay silent before borg's ssh gives up (sshKeepAlive)
   */
  private env(backendTimeoutSeconds = RUN_BACKEND_TIMEOUT_S): Record<string, string> {
    checkPasswordFile(this.repo);
    const pass = fs.readFileSync(this.repo.passwordFile, "utf8").split("\n")[0] ?? "";
    const env = engineEnv({ BORG_PASSPHRASE: pass, BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes", BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "no", BORG_DISPLAY_PASSPHRASE: "no" });
    if (!isLocalPath(this.repo.location)) env.BORG_RSH = sshKeepAlive(env.BORG_RSH || "ssh", backendTimeoutSeconds);
    return env;
  }

  /** `warningIsError`: exit status 1 fails too (borg check's "errors found"), not only 2 and above. */
  private async run(what: string, args: string[], timeoutSeconds?: number, onStderr?: (chunk: string) => void, warningIsError = false): Promise<string> {
    const sub = execa(this.bin, args, { reject: false, env: this.env(), extendEnv: false, stdin: "ignore", maxBuffer: 256 << 20 });
    if (onStderr) sub.stderr.setEncoding("utf8").on("data", onStderr);
    // SIGTERM: borg releases its lock when it turns into an exception
    const { result: r, timedOut } = await (timeoutSeconds ? withTimeLimit(sub, timeoutSeconds, "SIGTERM") : sub.then((result) => ({ result, timedOut: false }))).catch((e) => {
      if (isEnoent(e)) throw notInstalled("borg", this.bin);
      throw e;
    });
    if (isEnoent(r)) throw notInstalled("borg", this.bin);
    if (timedOut && timeoutSeconds) throw noAnswer("borg", this.repo.location, timeoutSeconds);
    if (r.exitCode !== 0 && (r.exitCode !== 1 || warningIsError)) throw borgError(this.repo, what, withoutStatusFragments(String(r.stderr)));
    return String(r.stdout);
  }

  async isInitialised(opts: { timeoutSeconds?: number } = {}): Promise<boolean> {
    try {
      await this.run("info", ["info", "--json", this.repo.location], opts.timeoutSeconds);
      return true;
    } catch (e) {
      if (e instanceof EngineError && (e.failure === "missing" || e.failure === "gone") && !/is not a borg repository/.test(e.message)) return false;
      throw e;
    }
  }

  /**
   * borg init, then segments of {@link BORG_SEGMENT_BYTES}: borg 1.2 refuses
   * to commit unless one whole segment (default 500 MiB) plus its index and
   * hints fit in the free space (Repository.check_free_space), so a 20 MB
   * backup needed ~545 MB free. Smaller segments only mean more segment
   * files; compaction and the free-space reserve scale with them.
   */
  async init(): Promise<void> {
    await this.run("init", ["init", "-e", "repokey-blake2", this.repo.location]);
    // `borg config` works on local repositories only ("Repository must be local"); a server's free space is its own
    if (isLocalPath(this.repo.location)) await this.run("config", ["config", this.repo.location, "max_segment_size", String(BORG_SEGMENT_BYTES)]);
  }

  async snapshots(opts: { tag?: string } = {}): Promise<EngineSnapshot[]> {
    const out = JSON.parse(await this.run("list", ["list", "--json", this.repo.location])) as { archives: { name: string; time: string }[] };
    const all = out.archives.map((a) => ({ id: a.name, time: new Date(a.time), tags: a.name.split(","), paths: [] as string[] }));
    return ofMachine(all, this.repo.machine)
      .filter((s) => !opts.tag || s.tags.some((t) => t === opts.tag || t.startsWith(`${opts.tag}.`)));
  }

  async repositoryBytes(): Promise<number> {
    const out = JSON.parse(await this.run("info", ["info", "--json", this.repo.location])) as { cache: { stats: { unique_csize: number } } };
    return Number(out.cache.stats.unique_csize);
  }

  async check(opts: { readDataSubset?: string; onProgress?: (p: CheckProgress) => void } = {}): Promise<void> {
    const { onProgress } = opts;
    // borg 1.2 check ends "Finished full repository check, errors found." with exit status 1, a "warning"
    const watch = onProgress && lineSplitter((l) => { const p = borgCheckProgress(l); if (p) onProgress(p); });
    await this.run("check", ["check", ...(onProgress ? ["--progress"] : []), ...(opts.readDataSubset ? ["--verify-data"] : []), this.repo.location], undefined, watch, true);
  }

  /**
   * What borg 1.2's Repository.check_free_space demands before a commit:
   * max_segment_size + additional_free_space from the repository's config,
   * plus room for a new index and hints as large as the current ones.
   */
  async freeSpaceProblem(): Promise<EngineError | undefined> {
    if (!isLocalPath(this.repo.location)) return undefined;
    const loc = this.repo.location;
    let config: string;
    try {
      config = fs.readFileSync(path.join(loc, "config"), "utf8");
    } catch {
      return undefined;
    }
    const num = (key: string, dflt: number) => Number(new RegExp(`^${key}\\s*=\\s*(\\d+)`, "m").exec(config)?.[1] ?? dflt);
    const sized = (prefix: string) => fs.readdirSync(loc).filter((n) => n.startsWith(prefix)).reduce((t, n) => t + fs.statSync(path.join(loc, n)).size, 0);
    const required = num("max_segment_size", 524288000) + num("additional_free_space", 0) + sized("index.") + sized("hints.");
    const st = fs.statfsSync(loc);
    const free = st.bavail * st.bsize;
    if (free >= required) return undefined;
    const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
    return new EngineError(`borg needs about ${mb(required)} free on the disk of the repository ${loc} before it stores a backup of any size (one ${SEGMENT_WORDS} of max_segment_size plus its index), and only ${mb(free)} are free; free or add space there, or lower the reserve with \`borg config ${loc} max_segment_size ${BORG_SEGMENT_BYTES}\`, then run the backup again.`, "full");
  }

  async prune(): Promise<void> {
    if (this.repo.appendOnly) throw appendOnlyRefusal("borg", this.repo.location, "prune");
    await this.run("compact", ["compact", this.repo.location]);
  }

  async forget(ids: string[]): Promise<void> {
    if (!ids.length) return;
    // borg serve --append-only would "delete" into a transaction the server's owner can roll back: say so instead
    if (this.repo.appendOnly) throw appendOnlyRefusal("borg", this.repo.location, "forget");
    await this.run("delete", ["delete", this.repo.location, ...ids]);
    await this.run("compact", ["compact", this.repo.location]);
  }

  /**
   * borg 1.2 removes this host's dead processes' locks by itself when it next
   * takes the lock; doing it first lets the job log say so. Locks of other
   * hosts or of live processes are never touched (break-lock removes all).
   * Remote repositories are left to borg.
   */
  async removeStaleLocks(): Promise<number> {
    if (!isLocalPath(this.repo.location)) return 0;
    const { holders, allStale } = borgLockHolders(this.repo.location);
    if (!allStale) return 0;
    await this.run("break-lock", ["break-lock", this.repo.location]);
    return holders.length;
  }

  backupStdin(opts: BackupStdinOptions): StdinBackup {
    const name = archiveName(withMachineTag(opts.tags, this.repo.machine));
    const env = this.env(opts.backendTimeoutSeconds ?? BACKEND_TIMEOUT_S);
    const pipe = inputPipe();
    const args = ["create", "--json", "--stdin-name", opts.filename, `${this.repo.location}::${name}`, "-"];
    const { sub, control } = pipe.spawnWith((fd) =>
      spawnEngine(this.bin, args, { stdin: fd, stdout: "pipe", buffer: { stdout: true, stderr: false }, env, guard: { stop: "SIGTERM", mode: "writer", held: pipe.ourFd } }, execa as never) as SpawnedEngine<BorgSub>,
    );
    const stdin = pipe.ours(sub.stdin);
    commitWhenFinished(stdin, control);
    let stderr = "";
    sub.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_KEEP)));
    stdin.on("error", () => {});
    const done = (async () => {
      const r = await sub;
      if (isEnoent(r)) throw notInstalled("borg", this.bin);
      if (r.exitCode !== 0 && r.exitCode !== 1) throw borgError(this.repo, "create", stderr);
      const j = JSON.parse(String(r.stdout)) as { archive: { stats: { deduplicated_size: number } } };
      return { snapshotId: name, addedBytes: Number(j.archive.stats.deduplicated_size) };
    })();
    done.catch(() => {});
    // borg 1.2 treats a first SIGINT as "checkpoint after the current file", and
    // the current file is stdin, which would never end; SIGTERM aborts at once.
    return { stdin, done, interrupt: () => interrupt(sub, "SIGTERM") };
  }

  dumpFile(snapshotId: string, filename: string, opts: DumpFileOptions = {}): StdoutDump {
    const pipe = outputPipe();
    const env = this.env(opts.backendTimeoutSeconds ?? BACKEND_TIMEOUT_S);
    const args = ["extract", "--stdout", `${this.repo.location}::${snapshotId}`, filename];
    const { sub } = pipe.spawnWith((fd) =>
      spawnEngine(this.bin, args, { stdin: "ignore", stdout: fd, buffer: false, env, guard: { stop: "SIGTERM", mode: "reader", held: pipe.ourFd } }, execa as never) as SpawnedEngine<BorgSub>,
    );
    const output = pipe.ours(sub.stdout);
    let stderr = "";
    sub.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_KEEP)));
    // borg releases its lock when SIGTERM turns into an exception
    return stoppableDump(sub as unknown as DumpProcess, output, "SIGTERM", (_code, r) => (isEnoent(r) ? notInstalled("borg", this.bin) : borgError(this.repo, "extract", stderr)));
  }
}

export function openBorg(repo: RepositoryRef, binary = "borg"): Engine {
  return new Borg(repo, binary);
}
