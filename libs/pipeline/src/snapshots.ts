import { parseSideRecord, readSideRecord, type IngestSummary } from "./canonical.ts";
import { DumpError } from "./errors.ts";
import type { Engine, EngineSnapshot } from "./engine/types.ts";
import { DATA_TAG, PROJECT_TAG, RUN_TAG_PREFIX, SIDE_FILE, SIDE_TAG, STREAM_FILE } from "./ingest.ts";

/**
 * True for a snapshot that holds a backup stream: a canonical data snapshot
 * (tag qd-data) or a legacy single-file one (restic: path /qubes-backup.bin;
 * borg, which records no paths: tagged qubes-dedup). Side records are not.
 */
export function isDataSnapshot(s: EngineSnapshot): boolean {
  if (s.tags.includes(SIDE_TAG)) return false;
  return s.tags.includes(DATA_TAG) || s.paths.includes(`/${STREAM_FILE}`) || (s.paths.length === 0 && s.tags.includes(PROJECT_TAG));
}

/** The `qd-run:` tag of a canonical snapshot (data or side record), undefined for other snapshots. */
export function runTagOf(s: Pick<EngineSnapshot, "tags">): string | undefined {
  return s.tags.find((t) => t.startsWith(RUN_TAG_PREFIX));
}

/** The side record stored with a canonical data snapshot (same qd-run tag), if any. */
export function sideOf(all: EngineSnapshot[], data: EngineSnapshot): EngineSnapshot | undefined {
  const run = runTagOf(data);
  return run ? all.find((s) => s.tags.includes(SIDE_TAG) && s.tags.includes(run)) : undefined;
}

/**
 * The name of a borg data archive's side record, known without listing the
 * repository: borg archive names are the snapshot's tags joined by commas
 * (engine/borg.ts), and a run's two archives differ only in qd-data / qd-side.
 * Undefined for restic (ids are content hashes) and for other references.
 */
export function pairedSideName(engine: Engine, ref: string): string | undefined {
  if (engine.kind !== "borg") return undefined;
  const tags = ref.split(",");
  if (!tags.includes(DATA_TAG) || !tags.some((t) => t.startsWith(RUN_TAG_PREFIX))) return undefined;
  return tags.map((t) => (t === DATA_TAG ? SIDE_TAG : t)).join(",");
}

/**
 * Finds the data snapshot a reference names, among data snapshots only:
 * "latest" (the newest), an exact id, or a unique prefix of one.
 * @param all every snapshot of the repository (engine.snapshots())
 * @throws DumpError for an unknown or ambiguous reference
 */
export function resolveSnapshot(all: EngineSnapshot[], ref: string, location: string): EngineSnapshot {
  const data = all.filter(isDataSnapshot);
  if (ref === "latest") {
    const newest = data.reduce<EngineSnapshot | undefined>((a, s) => (!a || s.time > a.time ? s : a), undefined);
    if (!newest) throw new DumpError(`there are no backups in ${location} yet, so there is no latest one; run a backup first.`);
    return newest;
  }
  const exact = data.find((s) => s.id === ref);
  if (exact) return exact;
  const matches = ref ? data.filter((s) => s.id.startsWith(ref)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new DumpError(`the snapshot reference "${ref}" is ambiguous in ${location} (it starts ${matches.length} backups' ids); give more characters of the id (see qubes-dedup snapshots).`);
  throw new DumpError(`there is no backup "${ref}" in ${location}; give the id of one, or a unique start of it, or latest (see qubes-dedup snapshots).`);
}

/** The backups (data snapshots) among a repository's snapshots, oldest first. */
export function dataSnapshotsOf(all: EngineSnapshot[]): EngineSnapshot[] {
  return all.filter(isDataSnapshot).sort((a, b) => a.time.getTime() - b.time.getTime());
}

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
 * @param dataSnapshotId a data snapshot's id, unique prefix, or "latest"
 * @param listing the repository's snapshots (engine.snapshots()) when the caller has them already
 * @throws DumpError (unknown reference, missing or unreadable side record), EngineError
 */
export async function readSnapshotInfo(engine: Engine, dataSnapshotId: string, listing?: EngineSnapshot[]): Promise<SnapshotInfo> {
  const all = listing ?? (await engine.snapshots());
  const snap = resolveSnapshot(all, dataSnapshotId, engine.repo.location);
  const base = { snapshotId: snap.id, time: snap.time };
  if (!snap.tags.includes(DATA_TAG)) return { ...base, summary: { partial: true } };
  const side = sideOf(all, snap);
  if (!side) throw new DumpError(`the side record of snapshot ${snap.id} is missing; the repository may be damaged, run a check.`);
  const { meta } = parseSideRecord(await readSideRecord(engine.dumpFile(side.id, SIDE_FILE)));
  if (meta.summary) return { ...base, sideSnapshotId: side.id, summary: { ...meta.summary, partial: false } };
  return { ...base, sideSnapshotId: side.id, summary: { partial: true, backupId: meta.backupId, streamSha256: meta.streamSha256, logicalBytes: meta.logicalBytes } };
}
