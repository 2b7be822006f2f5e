import { DumpError, EngineError } from "../errors.ts";
import type { Engine, StdoutDump } from "../engine/types.ts";
import { pairedSideName, sideOf } from "../layout/classify.ts";
import { resolveSnapshot } from "../layout/refs.ts";
import { parseSideRecord, readSideRecord, sectionDir, type Op, type SideMeta, type SidePart, type SideSection } from "../layout/side-record.ts";
import { DATA_TAG, SIDE_FILE, SIDE_TAG, STREAM_FILE } from "../layout/tags.ts";
import { cacheableSideId, type SideRecordCache } from "../layout/side-cache.ts";
import { readerLeaves } from "./reader-gone.ts";

/**
 * What dump wrote: bytes and their SHA-256 (hex); `repositoryBytesRead`: the
 * side record's stored (gzip) bytes plus every byte the engines' data dumps
 * produced, read by us or discarded (restic dump / borg extract read only the
 * chunks of what they write; their index and metadata reads are not counted);
 * `warnings`: sentences for the log (an old-layout snapshot sent whole).
 */
export interface DumpResult { bytes: number; streamSha256: string; repositoryBytesRead: number; warnings: string[] }

import { Gone, Out } from "./dump-output.ts";
import { PartReader, rebuild, startData, type Data, type Open } from "./rebuild.ts";

/** Options of {@link dump}. */
export interface DumpOptions {
  /** SHA-256 (hex) recorded at ingest; a snapshot recording another one is refused before any byte is written */
  expectedSha256?: string;
  /**
   * id of the snapshot holding the side record, as ingest returned it
   * (IngestResult.sideSnapshotId): data and side record are then read at once,
   * without listing the repository's snapshots first. A stale or wrong id
   * costs only time: the side record names its data snapshot, and a record
   * that names another one sends dump back to the listing.
   */
  sideSnapshotId?: string;
  /**
   * local copies of side records (layout/side-cache.ts): one found there is
   * not read from the repository (it counts no side bytes read); one read
   * from the repository is kept there
   */
  sideCache?: SideRecordCache;
  signal?: AbortSignal;
  /**
   * Qube names (as the backup's qubes.xml names them; dom0's home is "dom0"):
   * write a stream of the header files, qubes.xml and only these qubes'
   * files, which the stock qvm-backup-restore accepts when asked for them,
   * reading only their data parts and the side record. A snapshot of the
   * format 1 layout is written whole (with a warning). Names are checked
   * against the snapshot's qubes (DumpError naming the unknown one).
   */
  qubes?: string[];
  /** Called after each write with the bytes of the stream handed to the output so far. */
  onProgress?: (bytes: number) => void;
  /** seconds the repository's server may keep failing before the dump fails naming it (engine default 60) */
  backendTimeoutSeconds?: number;
}

/**
 * Writes a snapshot's original backup stream to `output`, starting at once.
 * Canonical snapshots are rebuilt from the data (one snapshot, or one per
 * qube: side record format 2) and the side record and checked against the
 * SHA-256 recorded at ingest (not a `qubes` subset, whose stream is another
 * one); raw (v1) ones are copied.
 * A closed output (EPIPE, destroyed) is a normal end: qvm-backup-restore cuts
 * the pipe once it has what it needs; any other write error (ENOSPC, EIO) is not.
 * @param snapshotId a data snapshot's id, its short id (layout/refs.ts
 *   shortSnapshotId), a unique start of either, or "latest"
 * @returns bytes written, the SHA-256 (hex) of those bytes, bytes read from the repository (see DumpResult)
 * @throws DumpError on an unknown qube in `opts.qubes`, a digest mismatch, an unreadable side record, a failed
 *   output ("writing the stream failed after N bytes (ENOSPC): …"), or an
 *   abort through opts.signal ("the dump was cancelled …"); EngineError
 */
export async function dump(engine: Engine, snapshotId: string, output: NodeJS.WritableStream, opts: DumpOptions = {}): Promise<DumpResult> {
  // every engine process started here has exited when dump returns: one that
  // outlived us would die of SIGPIPE holding its repository lock
  const started: StdoutDump[] = [];
  const open = (id: string, file: string) => {
    if (opts.signal?.aborted) throw cancelled(0);
    const d = engine.dumpFile(id, file, { backendTimeoutSeconds: opts.backendTimeoutSeconds });
    started.push(d);
    return d;
  };
  const stopAll = () => started.forEach((d) => void d.kill());
  opts.signal?.addEventListener("abort", stopAll);
  try {
    const r = await dumpWith(engine, open, snapshotId, output, opts);
    if (opts.signal?.aborted) throw cancelled(r.bytes);
    return r;
  } catch (e) {
    if (opts.signal?.aborted && !(e instanceof Cancelled)) throw cancelled(undefined);
    throw e;
  } finally {
    opts.signal?.removeEventListener("abort", stopAll);
    await Promise.all(started.map((d) => d.kill()));
  }
}

/** A dump stopped through its AbortSignal (a DumpError to callers). */
class Cancelled extends DumpError {}

function cancelled(bytes: number | undefined): Cancelled {
  const what = bytes === undefined ? "" : ` after ${bytes} bytes`;
  return new Cancelled(`the dump was cancelled${what}; the output is incomplete, dump again to get the whole stream.`);
}

/**
 * What to read: a canonical snapshot's parsed side record, the id of its
 * data snapshot (`qd-data`: all the data in format 1, part 0 in format 2;
 * undefined when the run stored no data) and that data's dump when already
 * started; or a raw snapshot's id.
 */
type Plan = { canonical: true; dataId: string | undefined; early?: Data; meta: SideMeta; ops: Op[]; sideBytes: number } | { canonical: false; id: string };

async function dumpWith(engine: Engine, open: Open, snapshotId: string, output: NodeJS.WritableStream, opts: DumpOptions): Promise<DumpResult> {
  const plan = await locate(engine, open, snapshotId, opts);
  let parts: PartReader | undefined;
  let raw: StdoutDump | undefined;
  const out = new Out(output, () => (parts?.kill(), raw?.kill()), opts.onProgress);
  // dump() stops the engines; what was written so far is not a failed output
  const onAbort = () => (out.gone = true);
  opts.signal?.addEventListener("abort", onAbort);
  let expected = opts.expectedSha256;
  const warnings: string[] = [];
  let sideBytes = 0;
  try {
    if (plan.canonical) {
      if (expected && expected !== plan.meta.streamSha256) throw new DumpError(`snapshot ${snapshotId} records SHA-256 ${plan.meta.streamSha256}, not the expected ${expected}; pick the right snapshot.`);
      sideBytes = plan.sideBytes;
      const layout = sectionsOf(plan.meta, plan.ops.length, plan.dataId);
      const dirs = opts.qubes ? selectedDirs(plan.meta, snapshotId, opts.qubes) : undefined;
      if (opts.qubes && plan.meta.format === 1) warnings.push(`snapshot ${snapshotId} was stored before qubes-dedup kept each qube's data apart, so the whole stream is sent and the restore picks its qubes from it.`);
      const only = plan.meta.format === 1 ? undefined : dirs;
      expected = only ? undefined : plan.meta.streamSha256;
      parts = new PartReader(open, layout.parts.map((x) => (only && !only.has(layout.sections[x.section]!.dir!) ? undefined : x.snapshotId)), plan.early);
      // a header or qubes.xml retrieval leaves once it saw the first qube's member header: no data read for it
      let probed = !only;
      const beforeData = async () => {
        if (probed) return;
        probed = true;
        if (await readerLeaves(output)) throw ((out.gone = true), new Gone());
      };
      await rebuild(plan.ops, layout, only, { parts, beforeData }, out);
      await parts.done();
    } else {
      raw = open(plan.id, STREAM_FILE);
      for await (const chunk of raw.stdout as AsyncIterable<Buffer>) await out.write(chunk);
      await raw.done;
    }
    await out.flush();
  } catch (e) {
    parts?.kill();
    raw?.kill();
    const failed = out.failed();
    if (failed) throw failed;
    if (e instanceof EngineError && (e.failure === "damaged" || e.failure === "other") && e.detail !== undefined && !out.gone) throw readFailed(engine, snapshotId, out.written, e);
    if (!(e instanceof Gone) && !out.gone) throw e instanceof DumpError || e instanceof EngineError ? e : new DumpError(`reading snapshot ${snapshotId} failed (${(e as Error).message}); check the repository.`);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    out.release();
  }
  const sha = out.hash.digest("hex");
  if (!out.gone && expected && sha !== expected)
    throw new DumpError(`snapshot ${snapshotId} does not match the SHA-256 recorded at backup time (got ${sha}); the repository may be damaged, run a check.`);
  const dataBytesRead = (parts?.bytesRead() ?? 0) + (raw?.bytesOut?.() ?? 0);
  return { bytes: out.bytes, streamSha256: sha, repositoryBytesRead: sideBytes + dataBytesRead, warnings };
}

/** Sections and parts of a side record; format 1 is one section whose data is the whole data snapshot. */
function sectionsOf(meta: SideMeta, opCount: number, dataId: string | undefined): { sections: SideSection[]; parts: SidePart[] } {
  const parts = meta.format === 2 ? meta.parts! : [{ snapshotId: dataId!, section: 0, dataBytes: meta.dataBytes }];
  const sections = meta.format === 2 ? meta.sections! : [{ dir: null, ops: opCount, dataBytes: meta.dataBytes }];
  // part 0 is the data snapshot the reference resolved to (its full id; the record holds what the engine reported)
  return { sections, parts: parts.map((x, i) => (i === 0 && dataId ? { ...x, snapshotId: dataId } : x)) };
}

/**
 * The section directories of the named qubes (a qube's backup-path's first
 * component: `vm3`, `dom0-home`), by the summary the side record keeps.
 * @throws DumpError naming the first unknown qube and the snapshot's qubes
 */
function selectedDirs(meta: SideMeta, ref: string, names: string[]): Set<string> | undefined {
  const qubes = meta.summary?.qubes;
  if (!qubes) return undefined;
  const dirs = new Set<string>();
  for (const n of names) {
    const q = qubes.find((x) => x.name === n);
    if (!q) throw new DumpError(`snapshot ${ref} holds no qube named "${n}" (it holds ${qubes.map((x) => x.name).join(", ") || "no qube"}); name qubes from that list.`);
    dirs.add(sectionDir(q.backupPath)!);
  }
  return dirs;
}

/**
 * Finds the snapshot's parts, starting engine processes as early as it can:
 * every engine start costs a key derivation and an index load (restic ~0.6 s),
 * so the data dump starts before anything is known and waits in its pipe.
 * When the side record can be named without a listing (a hint from the index,
 * or borg's archive names), data and side record are read at the same time.
 * A dump of chosen qubes (`opts.qubes`) starts no data before the side record
 * says which parts hold them: a part read ahead for nothing would count
 * against the restore's reads.
 */
async function locate(engine: Engine, open: Open, ref: string, opts: DumpOptions): Promise<Plan> {
  // borg takes archive names only as they are: a short id or a prefix needs the listing first
  const direct = ref !== "latest" && (engine.kind === "restic" || pairedSideName(engine, ref) !== undefined);
  const sideRef = direct ? (opts.sideSnapshotId ?? pairedSideName(engine, ref)) : undefined;
  const noData = engine.kind === "borg" && pairedSideName(engine, ref) === ref;
  const ahead = !opts.qubes && !noData;
  const early = ahead && (sideRef || (engine.kind === "restic" && ref.length >= 8 && ref !== "latest")) ? startData(open, ref) : undefined;
  if (sideRef) {
    const side = await readSide(engine, open, sideRef, opts.sideCache).catch(() => undefined);
    if (side && sideBelongs(side.meta, ref, opts.expectedSha256, sideRef)) return plan(ref, early, side);
  }
  if (opts.signal?.aborted) throw cancelled(0);
  const all = await engine.snapshots();
  const snap = resolveSnapshot(all, ref, engine.repo);
  // restic resolves a prefix among all snapshots, borg takes names as they are
  const earlyIsSnap = engine.kind === "restic" ? all.filter((s) => s.id.startsWith(ref)).length === 1 : snap.id === ref;
  const canonical = snap.tags.includes(DATA_TAG);
  const alone = snap.tags.includes(SIDE_TAG);
  if (early && !(canonical && earlyIsSnap && !alone)) void early.dump.kill();
  if (!canonical) return { canonical: false, id: snap.id };
  const side = sideOf(all, snap);
  if (!side) throw new DumpError(`the side record of snapshot ${ref} is missing, so the stream cannot be rebuilt; the repository may be damaged, run a check.`);
  const data = alone || !ahead ? undefined : early && earlyIsSnap ? early : startData(open, snap.id);
  return plan(snap.id, data, await readSide(engine, open, side.id, opts.sideCache));
}

/** The plan of a canonical snapshot; a data dump started for a run without data is stopped. */
function plan(dataRef: string, early: Data | undefined, side: { meta: SideMeta; ops: Op[]; sideBytes: number }): Plan {
  const hasData = side.meta.format === 1 || side.meta.parts!.length > 0;
  if (!hasData) void early?.dump.kill();
  return { canonical: true, dataId: hasData ? dataRef : undefined, early: hasData ? early : undefined, ...side };
}

/** The side record in snapshot `sideId`: a local copy when one is kept and parses, else the repository's (then kept). */
async function readSide(engine: Engine, open: Open, sideId: string, cache: SideRecordCache | undefined): Promise<{ meta: SideMeta; ops: Op[]; sideBytes: number }> {
  const cacheable = cache !== undefined && cacheableSideId(engine.kind, sideId);
  const copy = cacheable ? cache.get(sideId) : undefined;
  if (copy) {
    try {
      return { ...parseSideRecord(copy), sideBytes: 0 };
    } catch {
      // a damaged copy: the repository's record is read instead, and kept in its place
    }
  }
  const gz = await readSideRecord(open(sideId, SIDE_FILE));
  const side = { ...parseSideRecord(gz), sideBytes: gz.length };
  if (cacheable) cache.put(sideId, gz);
  return side;
}

/**
 * True when a side record found through a hint is the one of `ref`: it names
 * its data snapshot (restic's short id, borg's archive name), or it is the
 * run's one snapshot (no data); records written before it did are trusted
 * only when their SHA-256 is the expected one.
 */
function sideBelongs(meta: SideMeta, ref: string, expectedSha256: string | undefined, sideRef: string): boolean {
  if (meta.dataSnapshotId) return ref.startsWith(meta.dataSnapshotId);
  if (meta.format === 2 && meta.parts!.length === 0) return sideRef.startsWith(ref) || ref.startsWith(sideRef);
  return expectedSha256 !== undefined && expectedSha256 === meta.streamSha256;
}

/**
 * The engine could not read the snapshot (damaged pack or segment, I/O):
 * quote it, and say the output is incomplete and which check shows the damage.
 */
function readFailed(engine: Engine, snapshotId: string, written: number, e: EngineError): DumpError {
  const loc = engine.repo.location;
  const check = engine.kind === "restic" ? `restic -r ${loc} check --read-data` : `borg check --verify-data ${loc}`;
  return new DumpError(`${engine.kind} could not read snapshot ${snapshotId} (${e.detail}): the ${written} bytes written so far are an incomplete stream; \`${check}\` shows what is damaged.`);
}

