import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import { EngineError, IngestError, ingestCancelled } from "../errors.ts";
import type { Engine, StdinBackup } from "../engine/types.ts";
import { checkPasswordFile } from "../engine/common.ts";
import { cacheableSideId, type SideRecordCache } from "../layout/side-cache.ts";
import { SideRecordBuilder, sectionDir, type IngestSummary } from "../layout/side-record.ts";
import { DATA_TAG, PROJECT_TAG, SIDE_FILE, SIDE_TAG, newRunId, runTag as runTagOf } from "../layout/tags.ts";
import { PartWriter, type StoredPart } from "./parts.ts";
import type { BackupHeader } from "../stream/header.ts";
import { BackupStreamParser } from "../stream/parser.ts";
import { SHIM_TRAILER, type TrailerFormat } from "../stream/trailer.ts";

export interface IngestProgress { bytesRead: number; bytesExpected?: number; currentFile?: string }
export interface FileSummary { name: string; streamBytes: number; chunks: number }
export interface QubeSummary { qid: number; name: string; backupPath: string; backupSizeBytes: number; files: FileSummary[] }
/**
 * What ingest stored. `snapshotId` is the data snapshot's full id (restic) or
 * archive name (borg), the one to dump (`shortSnapshotId(engine.kind, snapshotId)`
 * is the one to show); `sideSnapshotId` the same for its side record (give it
 * to dump to save a listing). Sizes in bytes, duration in seconds.
 */
export interface IngestResult {
  snapshotId: string; sideSnapshotId: string; backupId: string; header: BackupHeader; qubes: QubeSummary[];
  /** every qube name the backup's qubes.xml lists, in the backup or not (the qubes dom0 had), document order */
  listed: string[];
  logicalBytes: number; addedBytes: number; streamSha256: string; compressed: boolean;
  durationSeconds: number; warnings: string[];
}
export interface IngestOptions {
  onProgress?: (p: IngestProgress) => void;
  signal?: AbortSignal;
  hostname?: string;
  /** recogniser of MAC trailers (default: the shim's) */
  trailer?: TrailerFormat;
  /** seconds the engine's backend may keep failing before the backup fails (restic; default 60) */
  backendTimeoutSeconds?: number;
  /**
   * side record format (layout/side-record.ts): 2 (default) stores each
   * qube's data as its own snapshot; 1 the whole data as one, as qubes-dedup
   * did before (benches compare the two; tests make old-layout repositories)
   */
  format?: 1 | 2;
  /** where a copy of the run's side record is kept once stored (layout/side-cache.ts), for later dumps */
  sideCache?: SideRecordCache;
}

/**
 * Stores one Qubes backup stream (read once, constant memory) as a snapshot,
 * only if the stream is complete and well-formed; otherwise interrupts the
 * engine so that no snapshot remains, and throws.
 * @param input the stream `qubes.Backup` hands over (format v4)
 * @returns sizes in bytes, the stream's SHA-256 (hex), qubes and duration (seconds)
 * @throws IngestError (malformed, truncated, cancelled) or EngineError
 */
export async function ingest(input: NodeJS.ReadableStream | Readable, engine: Engine, opts: IngestOptions = {}): Promise<IngestResult> {
  const started = performance.now();
  const createdAt = new Date().toISOString();
  const runTag = runTagOf(newRunId());
  const progress: IngestProgress = { bytesRead: 0 };
  let pending: { bytes: Uint8Array; section: number }[] = [];
  const format = opts.format ?? 2;
  const side = new SideRecordBuilder((bytes, section) => pending.push({ bytes, section: format === 1 ? 0 : section }));
  const parser = new BackupStreamParser(side, opts.trailer ?? SHIM_TRAILER, (path) => (progress.currentFile = path));
  const hash = createHash("sha256");
  // said before a byte is read, not after the whole stream; borg's first engine starts only with the first data
  checkPasswordFile(engine.repo);
  const space = await engine.freeSpaceProblem?.();
  if (space) throw space;
  const parts = new PartWriter(engine, { runTag, hostname: opts.hostname, backendTimeoutSeconds: opts.backendTimeoutSeconds, moreExpected: () => format === 2 && moreDataExpected(parser, side) });
  // restic allows concurrent backups: the side record's one starts now, so that its start-up overlaps the data
  const early = engine.kind === "restic" ? sideBackup(engine, runTag, opts) : undefined;
  let stored: StoredPart[];
  const onAbort = () => (input as Readable).destroy?.();
  opts.signal?.addEventListener("abort", onAbort);
  try {
    if (opts.signal?.aborted) throw new Error("aborted");
    const take = () => {
      const out = pending;
      pending = [];
      return out;
    };
    await pump(input as AsyncIterable<Buffer>, { parser, hash, parts, take, progress }, opts);
    if (opts.signal?.aborted) throw new Error("aborted");
    parser.end();
    stored = await parts.finish();
  } catch (e) {
    // EPIPE: the engine exited while we wrote; its own failure (a full disk, …) is the cause
    if ((e as NodeJS.ErrnoException)?.code === "EPIPE") await Promise.race([Promise.allSettled(parts.backups().map((b) => b.done)), new Promise((r) => setTimeout(r, 5000))]);
    const failedFirst = parts.failed();
    await abandon(engine, [...parts.backups(), early], runTag).catch(() => {});
    if (failedFirst instanceof EngineError && failedFirst.failure === "full") throw diskFull(engine, failedFirst, progress);
    if (e instanceof EngineError) throw e.failure === "full" ? diskFull(engine, e, progress) : e;
    if (failedFirst instanceof EngineError) throw failedFirst;
    if (e instanceof IngestError) throw e;
    if (opts.signal?.aborted) throw ingestCancelled(progress.bytesRead);
    throw new IngestError(`reading the backup stream failed after ${progress.bytesRead} bytes (${(e as Error).message}); nothing was stored, run the backup again.`);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
  const header = parser.header!;
  const streamSha256 = hash.digest("hex");
  const qubes = summarise(parser);
  const listed = (parser.qubes ?? []).map((q) => q.name);
  const summary: IngestSummary = {
    backupId: header.backupId, qubes, listed, compressed: header.compressed, warnings: parser.warnings,
    durationSeconds: (performance.now() - started) / 1000, createdAt, logicalBytes: progress.bytesRead, streamSha256,
  };
  const meta = { backupId: header.backupId, streamSha256, logicalBytes: progress.bytesRead, dataBytes: side.dataBytes, dataSnapshotId: stored[0]?.snapshotId, summary };
  const record = format === 1 && stored.length
    ? side.finish({ format: 1, ...meta })
    : side.finish({ format: 2, ...meta, sections: side.sections(), parts: stored.map(({ snapshotId, section, dataBytes }) => ({ snapshotId, section, dataBytes })) });
  let sideAdded: number;
  let snapshotId: string;
  let sideSnapshotId: string;
  try {
    // no data at all (only dom0's settings, empty volumes): restic refuses an empty snapshot, so the side record is the run's one snapshot
    const sideStore = stored.length ? (early ?? sideBackup(engine, runTag, opts)) : (await early?.interrupt(), sideBackup(engine, runTag, opts, true));
    ({ sideAdded, snapshotId, sideSnapshotId } = await storeSideAndResolveIds(engine, record, runTag, stored[0]?.snapshotId, sideStore));
    // a stop signal during the side record's storing cancels the run too (ARCHITECTURE.md: exit 1, nothing stored)
    if (opts.signal?.aborted) throw ingestCancelled(progress.bytesRead);
  } catch (e) {
    await early?.interrupt();
    await engine.forget((await engine.snapshots({ tag: runTag })).map((s) => s.id)).catch(() => {});
    throw e;
  }
  if (opts.sideCache && cacheableSideId(engine.kind, sideSnapshotId)) opts.sideCache.put(sideSnapshotId, record);
  const addedBytes = stored.reduce((a, p) => a + p.addedBytes, 0) + sideAdded;
  return {
    snapshotId, sideSnapshotId, backupId: header.backupId, header, qubes, listed,
    logicalBytes: progress.bytesRead, addedBytes, streamSha256,
    compressed: header.compressed, durationSeconds: (performance.now() - started) / 1000, warnings: parser.warnings,
  };
}

/**
 * True when a qube that qubes.xml marks for backup, with a non-zero
 * backup-size, has no section yet: its data will most likely follow.
 */
function moreDataExpected(parser: BackupStreamParser, side: SideRecordBuilder): boolean {
  const seen = new Set(side.dirs());
  return (parser.qubes ?? []).some((q) => q.backupContent && q.backupPath && (q.backupSize ?? 0) > 0 && !seen.has(sectionDir(q.backupPath)));
}

/** Starts the snapshot that will hold the side record (written once the stream has ended); `alone`: the run stored no data. */
function sideBackup(engine: Engine, runTag: string, opts: IngestOptions, alone = false): StdinBackup {
  const tags = alone ? [PROJECT_TAG, runTag, DATA_TAG, SIDE_TAG] : [PROJECT_TAG, runTag, SIDE_TAG];
  return engine.backupStdin({ filename: SIDE_FILE, tags, hostname: opts.hostname, backendTimeoutSeconds: opts.backendTimeoutSeconds });
}

/**
 * Stores the side record and, when the engine's summaries gave short ids
 * (restic 0.14), finds the full ones: in a local repository's snapshot
 * directory (no extra restic start), else through the run tag; borg's archive
 * names are full ids already, and its repository lock is exclusive, so its
 * side backup starts only now. Without a data snapshot (`dataShortId`
 * undefined) the side record's snapshot is the run's snapshot.
 * @returns bytes the side record added, and both snapshots' ids (full ones
 *   where they could be found)
 */
async function storeSideAndResolveIds(engine: Engine, record: Buffer, runTag: string, dataShortId: string | undefined, side: StdinBackup): Promise<{ sideAdded: number; snapshotId: string; sideSnapshotId: string }> {
  side.stdin.end(record);
  if (engine.kind !== "restic") {
    const stored = await side.done;
    return { sideAdded: stored.addedBytes, snapshotId: dataShortId ?? stored.snapshotId, sideSnapshotId: stored.snapshotId };
  }
  const dataLocal = dataShortId === undefined ? undefined : await engine.localFullId?.(dataShortId);
  if (dataLocal || (dataShortId === undefined && engine.localFullId)) {
    const stored = await side.done;
    const sideFull = (await engine.localFullId?.(stored.snapshotId)) ?? stored.snapshotId;
    return { sideAdded: stored.addedBytes, snapshotId: dataLocal ?? sideFull, sideSnapshotId: sideFull };
  }
  // restic's locks allow the listing while the side record is stored; a side
  // snapshot not listed yet keeps its short id, which restic resolves as well
  const [stored, snaps] = await Promise.all([side.done, engine.snapshots({ tag: runTag })]);
  const full = (short: string) => snaps.find((s) => s.id.startsWith(short))?.id ?? short;
  return { sideAdded: stored.addedBytes, snapshotId: full(dataShortId ?? stored.snapshotId), sideSnapshotId: full(stored.snapshotId) };
}

interface Pump {
  parser: BackupStreamParser;
  hash: Hash;
  parts: PartWriter;
  /** the data bytes the parser set aside for the engine since the last call, with their sections */
  take: () => { bytes: Uint8Array; section: number }[];
  progress: IngestProgress;
}

/** Reads the stream once: checks and splits it, hashes it, feeds the engines with back-pressure. */
async function pump(input: AsyncIterable<Buffer>, p: Pump, opts: IngestOptions): Promise<void> {
  for await (const chunk of input) {
    if (opts.signal?.aborted) return;
    if (p.parts.failed()) throw p.parts.failed();
    p.parser.write(chunk);
    p.hash.update(chunk);
    p.progress.bytesRead += chunk.length;
    p.progress.bytesExpected ??= p.parser.expectedBytes();
    for (const b of p.take()) await p.parts.write(b.bytes, b.section);
    opts.onProgress?.({ ...p.progress });
  }
}

/**
 * Interrupts the run's engine processes, all at once (each may have to clear
 * a lock left by its start-up, a restic start of its own), and removes any
 * snapshot this run may still have written.
 */
async function abandon(engine: Engine, backups: (StdinBackup | undefined)[], runTag: string): Promise<void> {
  await Promise.all(backups.map((b) => b?.interrupt()));
  let left;
  try {
    left = await engine.snapshots({ tag: runTag });
  } catch (e) {
    // an unreachable server cannot have stored this run's snapshot either
    if (e instanceof EngineError && e.failure === "network") return;
    throw e;
  }
  // an append-only server keeps them; listings never offer a run without its side record
  if (left.length && !engine.repo.appendOnly) await engine.forget(left.map((s) => s.id));
}

/**
 * A full repository disk, in one sentence with the stream's figures: what it
 * still needs at most (qubes.xml's backup-size sum less what was read, before
 * deduplication), and that the failed run holds no space (restic deletes its
 * unfinished packs, and the next backup after a failed one prunes; borg rolls
 * its transaction back).
 */
function diskFull(engine: Engine, e: EngineError, p: IngestProgress): EngineError {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const need = p.bytesExpected !== undefined ? `this stream is ${mb(p.bytesExpected)} (before deduplication; ${mb(p.bytesRead)} were read when it failed)` : `${mb(p.bytesRead)} of the stream were read when it failed`;
  const cause = e.message.replace(/; free or add space there.*$/, "");
  return new EngineError(`${cause}; ${need}: run retention (forget and prune) or free or add space on that disk, then run the backup again; nothing of this run was kept.`, "full", e.detail);
}

function summarise(a: BackupStreamParser): QubeSummary[] {
  const out: QubeSummary[] = [];
  for (const q of a.qubes?.filter((x) => x.backupContent && x.backupPath) ?? []) {
    const p = q.backupPath!;
    const dir = p.endsWith("/") ? p : `${p}/`;
    const files: FileSummary[] = [];
    for (const f of a.files.values()) {
      if (a.ownerOf(f.path) !== q) continue;
      files.push({ name: f.path === p ? p.split("/").pop()! : f.path.slice(dir.length), streamBytes: f.streamBytes, chunks: f.chunks });
    }
    out.push({ qid: q.qid, name: q.name, backupPath: p, backupSizeBytes: q.backupSize ?? 0, files });
  }
  return out;
}
