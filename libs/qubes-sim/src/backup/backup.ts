/**
 * `qvm-backup` as qubesd runs it (backup format v4, QubesOS/qubes-core-admin
 * qubes/backup.py): header + hmac, then `qubes.xml`, then each qube's files,
 * every file's inner tar stream cut into chunks, each chunk through
 * `scrypt enc - <chunk>.enc`, each result framed by its own
 * `tar -cO --posix` archive and written to the destination.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { SimError } from "../errors.ts";
import { loadQubesXml } from "../system/layout.ts";
import { serializeQubesXml } from "../system/qubes-xml.ts";
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
  /** gzip each file's inner stream; header `compressed=True`. */
  compress?: boolean;
  /** Chunk size in bytes (default 100 MiB). */
  chunkSize?: number;
  /** Environment of scrypt and the location command (PATH decides which run). */
  env?: NodeJS.ProcessEnv;
  /** Called with progress in percent (0..100). */
  progress?: (percent: number) => void;
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
export function backupHeaderText(backupId: string, compressed: boolean): string {
  const lines = ["version=4", "encrypted=True", `compressed=${compressed ? "True" : "False"}`, "compression-filter=gzip", "hmac-algorithm=scrypt", `backup-id=${backupId}`];
  return lines.join("\n") + "\n";
}

function waitExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

/** The inner stream of one file, optionally through the compression filter. */
function innerStream(f: PlannedFile, env: NodeJS.ProcessEnv, compress: boolean): { stream: Readable; done: Promise<number> } {
  const archiveName = `${f.subdir}${f.name}`;
  if (f.kind === "volume") {
    const inner = volumeInnerStream(f.source, archiveName);
    if (!compress) return { stream: inner, done: finished(inner).then(() => 0, () => 1) };
    const gz = spawn("gzip", [], { env, stdio: ["pipe", "pipe", "inherit"] });
    gz.stdin!.on("error", () => {});
    inner.pipe(gz.stdin!);
    return { stream: gz.stdout!, done: waitExit(gz) };
  }
  const base = path.basename(f.source);
  const args = ["-Pc", "--sparse", "-C", path.dirname(f.source)];
  if (f.subdir !== "dom0-home/") args.push("--dereference");
  if (compress) args.push("--use-compress-program=gzip");
  args.push(`--xform=s:^${base}:${f.subdir}\\0:`, base);
  const tar = spawn("tar", args, { env, stdio: ["ignore", "pipe", "inherit"] });
  return { stream: tar.stdout!, done: waitExit(tar) };
}

interface Ctx {
  opts: BackupOptions;
  env: NodeJS.ProcessEnv;
  tmp: string;
  backupId: string;
  dest: Destination;
  files: string[];
  doneBytes: number;
  totalSize: number;
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
  const { stream, done } = innerStream(f, ctx.env, ctx.opts.compress ?? false);
  await splitIntoChunks(stream, ctx.opts.chunkSize ?? DEFAULT_CHUNK_SIZE, async (chunk, i) => {
    const rel = `${base}.${String(i).padStart(3, "0")}`;
    let n = 0;
    chunk.on("data", (b: Buffer) => (n += b.length));
    const r = await callScrypt({ args: ["enc", "-", path.join(ctx.tmp, `${rel}.enc`)], passphrase: `${ctx.backupId}!${rel}!${ctx.opts.passphrase}`, env: ctx.env, stdin: chunk });
    if (r.exitCode !== 0) throw new SimError(`scrypt failed to encrypt ${rel} (exit ${r.exitCode}: ${r.stderr.trim()}); check the scrypt found on PATH.`);
    ctx.doneBytes += n;
    if (ctx.totalSize > 0) ctx.opts.progress?.(Math.min(100, (100 * ctx.doneBytes) / ctx.totalSize));
    await send(ctx, `${rel}.enc`);
  });
  const code = await done;
  if (code !== 0) throw new SimError(`Failed to archive ${f.source} (exit ${code}); check that the file is readable.`);
}

/**
 * Runs a backup of the simulated system to `opts.location`.
 * @throws SimError on an unknown qube, a scrypt failure, a failed or early
 *   exiting location command, or tar errors.
 */
export async function runBackup(opts: BackupOptions): Promise<BackupResult> {
  const env = opts.env ?? process.env;
  const store = loadQubesXml(opts.root);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qubes-sim-backup-"));
  try {
    const emptyFile = path.join(tmp, ".src", "empty");
    fs.mkdirSync(path.dirname(emptyFile));
    fs.writeFileSync(emptyFile, "");
    const planned = planFiles(opts.root, selectDomains(store, opts.qubes ?? [], opts.exclude ?? []), emptyFile);
    const backupId = makeBackupId(opts.now ?? new Date(), process.pid);
    fs.writeFileSync(path.join(tmp, "qubes.xml"), serializeQubesXml(backupStore(store, planned)));
    const header = path.join(tmp, "backup-header");
    fs.writeFileSync(header, backupHeaderText(backupId, opts.compress ?? false));
    const h = await callScrypt({ args: ["enc", header, `${header}.hmac`], passphrase: `backup-header!${opts.passphrase}`, env });
    if (h.exitCode !== 0) throw new SimError(`Failed to compute hmac of header file (scrypt exit ${h.exitCode}: ${h.stderr.trim()}); check the scrypt found on PATH.`);
    const dest = await openDestination(opts.location, opts.destVm, env);
    const totalSize = planned.reduce((a, q) => a + q.size, 0);
    const ctx: Ctx = { opts, env, tmp, backupId, dest, files: [], doneBytes: 0, totalSize };
    try {
      await send(ctx, "backup-header");
      await send(ctx, "backup-header.hmac");
      await backupFile(ctx, { kind: "file", source: path.join(tmp, "qubes.xml"), subdir: "", name: "qubes.xml", size: 0 });
      for (const q of planned) for (const f of q.files) await backupFile(ctx, f);
    } catch (e) {
      await dest.abort();
      throw e;
    }
    await dest.finish();
    return { backupId, files: ctx.files, totalSize };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
