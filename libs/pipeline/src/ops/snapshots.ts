import { DumpError } from "../errors.ts";
import type { Engine, EngineSnapshot } from "../engine/types.ts";
import { dataSnapshotsOf, incompleteRunsOf, sideOf } from "../layout/classify.ts";
import { resolveSnapshot } from "../layout/refs.ts";
import { parseSideRecord, readSideRecord, type IngestSummary } from "../layout/side-record.ts";
import { DATA_TAG, SIDE_FILE } from "../layout/tags.ts";

/**
 * The repository's backups (data snapshots), oldest first.
 * @throws EngineError
 */
export async function listDataSnapshots(engine: Engine): Promise<EngineSnapshot[]> {
  return dataSnapshotsOf(await engine.snapshots());
}

/**
 * A backup's summary as its side record keeps it. `partial` is true when the
 * side record predates summaries (only backupId, streamSha256, logicalBytes
 * are there) or, for a legacy single-file snapshot, there is no side record
 * at all (nothing but the snapshot's id and time is known).
 */
export type SnapshotSummary = (IngestSummary & { partial: false }) | (Partial<IngestSummary> & { partial: true });

/** What {@link readSnapshotInfo} returns. */
export interface SnapshotInfo {
  /** the data snapshot's full id */
  snapshotId: string;
  /** the full id of the snapshot holding its side record (absent for a legacy single-file snapshot) */
  sideSnapshotId?: string;
  /** the engine's snapshot time */
  time: Date;
  summary: SnapshotSummary;
}

/**
 * Reads a backup's summary from its side record only (a few KiB, not the data):
 * enough to rebuild an index from the repository alone.
 * @param dataSnapshotId a data snapshot's id, short id, unique start of either, or "latest"
 * @param listing the repository's snapshots (engine.snapshots()) when the caller has them already
 * @throws DumpError (unknown reference, missing or unreadable side record), EngineError
 */
export async function readSnapshotInfo(engine: Engine, dataSnapshotId: string, listing?: EngineSnapshot[]): Promise<SnapshotInfo> {
  const all = listing ?? (await engine.snapshots());
  const snap = resolveSnapshot(all, dataSnapshotId, engine.repo);
  const base = { snapshotId: snap.id, time: snap.time };
  if (!snap.tags.includes(DATA_TAG)) return { ...base, summary: { partial: true } };
  const side = sideOf(all, snap);
  if (!side) throw new DumpError(`the side record of snapshot ${snap.id} is missing; the repository may be damaged, run a check.`);
  const { meta } = parseSideRecord(await readSideRecord(engine.dumpFile(side.id, SIDE_FILE)));
  if (meta.summary) return { ...base, sideSnapshotId: side.id, summary: { ...meta.summary, partial: false } };
  return { ...base, sideSnapshotId: side.id, summary: { partial: true, backupId: meta.backupId, streamSha256: meta.streamSha256, logicalBytes: meta.logicalBytes } };
}

/**
 * Forgets the snapshots of ingest runs that stored only one half
 * ({@link incompleteRunsOf}); restic's forget --prune and borg's delete +
 * compact also free the space they and any failed run's packs held. Call it
 * only when no ingest into this repository is running (an ingest in
 * progress has stored its data snapshot, not yet its side record).
 * @returns the snapshots removed
 * @throws EngineError (restic: "locked" while another process uses the repository)
 */
export async function removeIncompleteRuns(engine: Engine, listing?: EngineSnapshot[]): Promise<EngineSnapshot[]> {
  const incomplete = incompleteRunsOf(listing ?? (await engine.snapshots()));
  if (incomplete.length) await engine.forget(incomplete.map((s) => s.id));
  return incomplete;
}
