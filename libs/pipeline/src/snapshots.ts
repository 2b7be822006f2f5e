import { DumpError } from "./errors.ts";
import type { Engine, EngineSnapshot } from "./engine/types.ts";
import { DATA_TAG, PROJECT_TAG, SIDE_TAG, STREAM_FILE } from "./ingest.ts";

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
  const run = data.tags.find((t) => t.startsWith("qd-run:"));
  return run ? all.find((s) => s.tags.includes(SIDE_TAG) && s.tags.includes(run)) : undefined;
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

/**
 * The repository's backups (data snapshots), oldest first.
 * @throws EngineError
 */
export async function listDataSnapshots(engine: Engine): Promise<EngineSnapshot[]> {
  return (await engine.snapshots()).filter(isDataSnapshot).sort((a, b) => a.time.getTime() - b.time.getTime());
}
