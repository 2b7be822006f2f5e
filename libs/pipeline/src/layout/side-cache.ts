import type { EngineKind } from "../engine/types.ts";

/**
 * A local copy of side records (layout/side-record.ts: the stored, gzipped
 * bytes), keyed by the side snapshot's id as the engine names it. A snapshot
 * never changes, so a copy never goes stale: the backup qube keeps one per
 * run, and a dump then starts its data without first starting the engine for
 * the record (restic: ~0.5 s of key derivation per start). A copy that does
 * not parse is ignored and read again from the repository.
 * Implementations never throw: a failed read is a miss, a failed write is
 * dropped.
 */
export interface SideRecordCache {
  /** the stored bytes of the side record in snapshot `sideSnapshotId`, if kept */
  get(sideSnapshotId: string): Buffer | undefined;
  /** keeps `stored` (the side record's bytes as the repository holds them) */
  put(sideSnapshotId: string, stored: Buffer): void;
}

/**
 * Whether `id` names one snapshot for good, so that a copy may be kept under
 * it: restic's full id (64 hex; a short id may later match another snapshot
 * as well), or a borg archive name (unique in its repository).
 */
export function cacheableSideId(kind: EngineKind, id: string): boolean {
  return kind === "borg" ? id.length > 0 : /^[0-9a-f]{64}$/.test(id);
}
