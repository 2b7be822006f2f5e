/**
 * `qvm-backup` as qubesd runs it (backup format v4, QubesOS/qubes-core-admin
 * qubes/backup.py): header + hmac, then `qubes.xml`, then each qube's files,
 * every file's inner tar stream cut into chunks, each chunk through
 * `scrypt enc - <chunk>.enc`, each result framed by its own
 * `tar -cO --posix` archive and written to the destination.
 *
 * Like qubesd, a chunk's scrypt exit status is only logged: whatever file
 * scrypt left is sent (empty, cut short, without the shim's trailer), and
 * only a chunk scrypt left no file for fails the backup (at the framing
 * tar). scrypt and the archiving tar run with qubesd's environment
 * (`qubesdEnv`), the location command with the caller's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { SimError } from "../errors.ts";
import { loadQubesXml, saveQubesXml } from "../system/layout.ts";
import { domainName, serializeQubesXml, setProp } from "../system/qubes-xml.ts";
import { callScrypt } from "../tty/scrypt-call.ts";
import { splitIntoChunks } from "./chunker.ts";
import { openDestination, type Destination } from "./destination.ts";
import { backupStore, planFiles, selectDomains, type PlannedFile } from "./plan.ts";
import { volumeInnerStream } from "./tarwriter.ts";

/** Default chunk size of qubesd (bytes). */
export const DEFAULT_CHUNK_SIZE = 100 * 1024 * 1024;

/** Options of {@link runBackup}. */
export interface BackupOptions {
  /** The simulated system. */
  root: string;
  /** The backup passphrase (one line, no newline). */
  passphrase: string;
  /** The location line sent to `qubes.Backup`: a directory or a command. */
  location: string;
  /** Destination qube; "dom0" writes to a local file or directory. */
  destVm: string;
  /** Qubes to back up (names, "dom0"); empty = all with include_in_backups. */
  qubes?: string[];
  exclude?: string[];
  /** Compress each file's inner stream; header `compressed=True`. Default false (qvm-backup's CLI defaults to true). */
  compress?: boolean;
  /**
   * The compression program (stdin to stdout; `-d` decompresses), written to
   * the header's `compression-filter`: gzip (default), bzip2, xz, zstd, …
   */
  compressionFilter?: string;
  /** Chunk size in bytes (default 100 MiB). */
  chunkSize?: number;
  /** Environment of the location command, and of scrypt unless `qubesdEnv` is given. */
  env?: NodeJS.ProcessEnv;
  /** qubesd's environment: scrypt, tar and the compression filter run with it (PATH decides which scrypt runs). Default `env`. */
  qubesdEnv?: NodeJS.ProcessEnv;
  /**
   * Called with progress in percent, as qubesd reports it: at most once a
   * second (none in the first second), not capped at 100 (done bytes count
   * the inner streams, the total the volumes' usage).
   */
  progress?: (percent: number) => void;
  /** Clock of the progress rate limit (milliseconds; default Date.now). */
  clock?: () => number;
  /** Least time between progress reports (milliseconds; qubesd's is 1000, the default). */
  progressIntervalMs?: number;
  /** Receives what qubesd only logs, e.g. a chunk's failed scrypt. */
  log?: (line: string) => void;
  /** Clock for the backup id (default now). */
  now?: Date;
}

/** The outcome of {@link runBackup}. */
export interface BackupResult {
  backupId: string;
  /** Outer archive members in stream order, e.g. `vm3/private.img.000.enc`. */
  files: string[];
  /** Sum of `backup-size` over the qubes (bytes). */
  totalSize: number;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYYmmddTHHMMSS-<pid>` in local time, as qubesd makes it. */
export function makeBackupId(now: Date, pid: number): string {
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}T${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}-${pid}`;
}

/** The `backup-header` text: `version` first, then the set keys in Qubes' order. */
export function backupHeaderText(backupId: string, compressed: boolean, compressionFilter = "gzip"): string {
  const lines = ["version=4", "encrypted=True", `compressed=${compressed ? "True" : "False"}`, `compression-filter=${compressionFilter}`, "hmac-algorithm=scrypt", `backup-id=${backupId}`];
  return lines.join("\n") + "\n";
}

function waitExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

/** The inner stream of one file, through the compression filter when it is set. */
function innerStream(f: PlannedFile, env: NodeJS.ProcessEnv, filter: string | undefined): { stream: Readable; done: Promise<number> } {
  const archiveName = `${f.subdir}${f.name}`;
  if (f.kind === "volume") {
    const inner = volumeInnerStream(f.source, archiveName);
    if (!filter) return { stream: inner, done: finished(inner).then(() => 0, () => 1) };
    const gz = spawn(filter, [], { env, stdio: ["pipe", "pipe", "inherit"] });
    gz.stdin!.on("error", () => {});
    inner.pipe(gz.stdin!);
    return { stream: gz.stdout!, done: waitExit(gz) };
  }
  const base = path.basename(f.source);
  const args = ["-Pc", "--sparse", "-C", path.dirname(f.source)];
  if (f.subdir !== "dom0-home/") args.push("--dereference");
  if (filter) args.push(`--use-compress-program=${filter}`);
  args.push(`--xform=s:^${base}:${f.subdir}\\0:`, base);
  const tar = spawn("tar", args, { env, stdio: ["ignore", "pipe", "inherit"] });
  return { stream: tar.stdout!, done: waitExit(tar) };
}

interface Ctx {
  opts: BackupOptions;
  /** qubesd's environment. */
  env: NodeJS.ProcessEnv;
  tmp: string;
  backupId: string;
  dest: Destination;
  files: string[];
  /** Inner-stream bytes read of the current qube (qubesd's `_current_vm_bytes`). */
  currentBytes: number;
  /** `backup-size` of the finished qubes (qubesd's `_done_vms_bytes`). */
  doneQubesBytes: number;
  totalSize: number;
  lastProgress: number;
}

/** qubesd's `_send_progress_update`: at most once a second, uncapped. */
function reportProgress(ctx: Ctx): void {
  const now = (ctx.opts.clock ?? Date.now)();
  if (ctx.totalSize <= 0 || !ctx.opts.progress || now - ctx.lastProgress < (ctx.opts.progressIntervalMs ?? 1000)) return;
  ctx.lastProgress = now;
  ctx.opts.progress((100 * (ctx.doneQubesBytes + ctx.currentBytes)) / ctx.totalSize);
}

/** Frames one file of the temp dir with GNU tar onto the destination, then deletes it. */
async function send(ctx: Ctx, rel: string): Promise<void> {
  const tar = spawn("tar", ["-cO", "--posix", "-C", ctx.tmp, rel], { env: ctx.env, stdio: ["ignore", ctx.dest.out, "pipe"] });
  let err = "";
  tar.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const code = await waitExit(tar);
  // GNU tar exits 1 for "file changed as we read it"; qubesd only fails on >= 2.
  if (code >= 2) throw await ctx.dest.failedWrite(code, err);
  ctx.dest.check();
  fs.rmSync(path.join(ctx.tmp, rel));
  ctx.files.push(rel);
}

async function backupFile(ctx: Ctx, f: PlannedFile): Promise<void> {
  const base = `${f.subdir}${f.name}`;
  fs.mkdirSync(path.join(ctx.tmp, f.subdir), { recursive: true });
  const filter = ctx.opts.compress ? (ctx.opts.compressionFilter ?? "gzip") : undefined;
  const { stream, done } = innerStream(f, ctx.env, filter);
  await splitIntoChunks(stream, ctx.opts.chunkSize ?? DEFAULT_CHUNK_SIZE, async (chunk, i) => {
    const rel = `${base}.${String(i).padStart(3, "0")}`;
    chunk.on("data", (b: Buffer) => {
      ctx.currentBytes += b.length;
      reportProgress(ctx);
    });
    const r = await callScrypt({ args: ["enc", "-", path.join(ctx.tmp, `${rel}.enc`)], passphrase: `${ctx.backupId}!${rel}!${ctx.opts.passphrase}`, env: ctx.env, stdin: chunk });
    // qubesd only logs this (qubes/backup.py _split_and_send) and sends whatever file exists.
    if (r.exitCode !== 0) ctx.opts.log?.(`scrypt return code: ${r.exitCode} for ${rel}.enc (${r.stderr.trim()})`);
    await send(ctx, `${rel}.enc`);
  });
  const code = await done;
  if (code !== 0) throw new SimError(`Failed to archive ${f.source} (exit ${code}); check that the file is readable.`);
}

/**
 * qubesd's last step after a successful backup (qubes-core-admin
 * qubes/backup.py): each backed-up qube's `backup_timestamp` property (unix
 * seconds) is set in the live `qubes.xml`. dom0 has no such property.
 */
function stampBackedUp(root: string, names: string[], now: Date): void {
  const live = loadQubesXml(root);
  for (const d of live.domains) if (domainName(d) !== "dom0" && names.includes(domainName(d))) setProp(d.properties, "backup_timestamp", String(Math.floor(now.getTime() / 1000)));
  saveQubesXml(root, live);
}

/**
 * Runs a backup of the simulated system to `opts.location`.
 * @throws SimError on an unknown qube, a scrypt failure, a failed or early
 *   exiting location command, or tar errors.
 */
export async function runBackup(opts: BackupOptions): Promise<BackupResult> {
  const env = opts.env ?? process.env;
  const qubesdEnv = opts.qubesdEnv ?? env;
  const store = loadQubesXml(opts.root);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qubes-sim-backup-"));
  try {
    const emptyFile = path.join(tmp, ".src", "empty");
    fs.mkdirSync(path.dirname(emptyFile));
    fs.writeFileSync(emptyFile, "");
    const planned = planFiles(opts.root, store, selectDomains(store, opts.qubes ?? [], opts.exclude ?? []), emptyFile);
    const backupId = makeBackupId(opts.now ?? new Date(), process.pid);
    fs.writeFileSync(path.join(tmp, "qubes.xml"), serializeQubesXml(backupStore(store, planned)));
    const header = path.join(tmp, "backup-header");
    fs.writeFileSync(header, backupHeaderText(backupId, opts.compress ?? false, opts.compressionFilter ?? "gzip"));
    const h = await callScrypt({ args: ["enc", header, `${header}.hmac`], passphrase: `backup-header!${opts.passphrase}`, env: qubesdEnv });
    if (h.exitCode !== 0) throw new SimError(`Failed to compute hmac of header file (scrypt exit ${h.exitCode}: ${h.stderr.trim()}); check the scrypt found on PATH.`);
    const dest = await openDestination(opts.location, opts.destVm, env);
    const totalSize = planned.reduce((a, q) => a + q.size, 0);
    const ctx: Ctx = { opts, env: qubesdEnv, tmp, backupId, dest, files: [], currentBytes: 0, doneQubesBytes: 0, totalSize, lastProgress: (opts.clock ?? Date.now)() };
    try {
      await send(ctx, "backup-header");
      await send(ctx, "backup-header.hmac");
      await backupFile(ctx, { kind: "file", source: path.join(tmp, "qubes.xml"), subdir: "", name: "qubes.xml", size: 0 });
      ctx.currentBytes = 0;
      for (const q of planned) {
        for (const f of q.files) await backupFile(ctx, f);
        ctx.doneQubesBytes += q.size;
        ctx.currentBytes = 0;
        reportProgress(ctx);
      }
    } catch (e) {
      await dest.abort();
      throw e;
    }
    await dest.finish();
    stampBackedUp(opts.root, planned.map((q) => q.name), opts.now ?? new Date());
    return { backupId, files: ctx.files, totalSize };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
