import type { Engine, EngineSnapshot } from "../engine/types.ts";
import { DATA_TAG, PART_TAG_PREFIX, PROJECT_TAG, RUN_TAG_PREFIX, SIDE_TAG, STREAM_FILE, runIdOf } from "./tags.ts";

/**
 * True for a snapshot that holds a backup stream: a canonical data snapshot
 * (tag qd-data) or a legacy single-file one (restic: path /qubes-backup.bin;
 * borg, which records no paths: tagged qubes-dedup). Side records are not,
 * unless the run stored no data (tagged qd-data and qd-side: its one snapshot).
 * A run's further data parts (qd-part:<k>) are not either.
 */
export function isDataSnapshot(s: EngineSnapshot): boolean {
  if (s.tags.includes(SIDE_TAG)) return s.tags.includes(DATA_TAG);
  // a borg archive of ours with a run tag but no qd-data is a checkpoint or a side record, never a legacy one
  return s.tags.includes(DATA_TAG) || s.paths.includes(`/${STREAM_FILE}`) || (s.paths.length === 0 && s.tags.includes(PROJECT_TAG) && !runIdOf(s.tags));
}

/** The side record stored with a canonical data snapshot (same qd-run tag), if any. */
export function sideOf(all: EngineSnapshot[], data: EngineSnapshot): EngineSnapshot | undefined {
  const run = data.tags.find((t) => t.startsWith(RUN_TAG_PREFIX));
  return run ? all.find((s) => s.tags.includes(SIDE_TAG) && s.tags.includes(run)) : undefined;
}

/**
 * The name of a borg data archive's side record, known without listing the
 * repository: borg archive names are the snapshot's tags joined by commas
 * (engine/borg.ts), and a run's two archives differ only in qd-data / qd-side.
 * Undefined for restic (ids are content hashes) and for other references
 * (short ids among them: they need the listing).
 */
export function pairedSideName(engine: Engine, ref: string): string | undefined {
  if (engine.kind !== "borg") return undefined;
  const tags = ref.split(",");
  // a run without data: its one archive is its side record
  if (tags.includes(DATA_TAG) && tags.includes(SIDE_TAG)) return ref;
  if (!tags.includes(DATA_TAG) || !tags.some((t) => t.startsWith(RUN_TAG_PREFIX))) return undefined;
  return tags.map((t) => (t === DATA_TAG ? SIDE_TAG : t)).join(",");
}

/**
 * The backups among a repository's snapshots, oldest first: legacy
 * single-file snapshots, and canonical data snapshots whose side record is
 * there. A data snapshot without its side record is not a backup (the stream
 * cannot be rebuilt): see {@link incompleteRunsOf}.
 */
export function dataSnapshotsOf(all: EngineSnapshot[]): EngineSnapshot[] {
  return all.filter((s) => isDataSnapshot(s) && (!s.tags.includes(DATA_TAG) || sideOf(all, s) !== undefined)).sort((a, b) => a.time.getTime() - b.time.getTime());
}

/**
 * The snapshots of ingest runs that did not store both halves: a data
 * snapshot without its side record (the run was killed between the two), a
 * side record without its data snapshot, and borg checkpoint archives
 * (`<name>.checkpoint[.N]`, whose last tag reads `qd-data.checkpoint`). None
 * is a backup. A complete run's data parts (`qd-part:<k>`) go with it; a run still in progress looks the same, so only a caller that
 * knows no ingest is running may remove them.
 */
export function incompleteRunsOf(all: EngineSnapshot[]): EngineSnapshot[] {
  const runs = new Map<string, { data: boolean; side: boolean }>();
  for (const s of all) {
    const run = runIdOf(s.tags);
    if (!run || !s.tags.includes(PROJECT_TAG)) continue;
    const r = runs.get(run) ?? { data: false, side: false };
    if (s.tags.includes(DATA_TAG)) r.data = true;
    if (s.tags.includes(SIDE_TAG)) r.side = true;
    runs.set(run, r);
  }
  return all.filter((s) => {
    const run = runIdOf(s.tags);
    if (!run || !s.tags.includes(PROJECT_TAG)) return false;
    const r = runs.get(run)!;
    const whole = s.tags.includes(DATA_TAG) || s.tags.includes(SIDE_TAG) || s.tags.some(isPartTag);
    return !whole || !(r.data && r.side);
  });
}

/** True for a data part's tag `qd-part:<k>` (a borg checkpoint's `qd-part:<k>.checkpoint` is not). */
export function isPartTag(tag: string): boolean {
  return tag.startsWith(PART_TAG_PREFIX) && /^\d+$/.test(tag.slice(PART_TAG_PREFIX.length));
}
