import type { Engine, EngineSnapshot } from "../engine/types.ts";
import { DATA_TAG, PROJECT_TAG, RUN_TAG_PREFIX, SIDE_TAG, STREAM_FILE } from "./tags.ts";

/**
 * True for a snapshot that holds a backup stream: a canonical data snapshot
 * (tag qd-data) or a legacy single-file one (restic: path /qubes-backup.bin;
 * borg, which records no paths: tagged qubes-dedup). Side records are not.
 */
export function isDataSnapshot(s: EngineSnapshot): boolean {
  if (s.tags.includes(SIDE_TAG)) return false;
  return s.tags.includes(DATA_TAG) || s.paths.includes(`/${STREAM_FILE}`) || (s.paths.length === 0 && s.tags.includes(PROJECT_TAG));
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
  if (!tags.includes(DATA_TAG) || !tags.some((t) => t.startsWith(RUN_TAG_PREFIX))) return undefined;
  return tags.map((t) => (t === DATA_TAG ? SIDE_TAG : t)).join(",");
}

/** The backups (data snapshots) among a repository's snapshots, oldest first. */
export function dataSnapshotsOf(all: EngineSnapshot[]): EngineSnapshot[] {
  return all.filter(isDataSnapshot).sort((a, b) => a.time.getTime() - b.time.getTime());
}
