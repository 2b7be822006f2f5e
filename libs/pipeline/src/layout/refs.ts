import { isBackupId } from "@qubes-dedup/protocol";
import { DumpError } from "../errors.ts";
import type { EngineKind, EngineSnapshot, RepositoryRef } from "../engine/types.ts";
import { dataSnapshotsOf, incompleteRunsOf, isDataSnapshot } from "./classify.ts";
import { runIdOf, runIdRandomPart } from "./tags.ts";

/** Length of restic's short ids (hex digits), as `restic snapshots` prints them. */
const RESTIC_SHORT = 8;

/**
 * A snapshot's short id: what lists show in their id column, and what
 * {@link resolveSnapshot} (so dump) accepts as the whole reference.
 * - restic: the id's first 8 hex digits (restic's own short id), e.g. `1a2b3c4d`.
 * - borg: the random part of the run id in the archive name
 *   `qubes-dedup,qd-run:<time>-<8 hex digits>,qd-data`, e.g. `3f9a0c1d`;
 *   for an archive whose run id is not of that shape, the run id; for one
 *   without a run tag (a legacy single-file archive), the whole name.
 * Short ids are 32 random (borg) or hash (restic) bits: unique among a
 * repository's backups but for a rare collision, which resolution reports as
 * ambiguous. A borg side record has its data archive's short id; references
 * resolve among data snapshots only, so it never stands for it.
 * @param kind the repository's engine
 * @param id the snapshot's full id (restic) or archive name (borg), as `Engine.snapshots()` lists it
 */
export function shortSnapshotId(kind: EngineKind, id: string): string {
  if (kind === "restic") return id.slice(0, RESTIC_SHORT);
  const run = runIdOf(id.split(","));
  if (run === undefined || run === "") return id;
  return runIdRandomPart(run) ?? run;
}

/** Fewest characters of an id (or short id) that name a snapshot by their start, as git abbreviates. */
export const MIN_REF_START = 4;

/** What a snapshot reference names among candidates: one of them, none, or several (their count). */
export type SnapshotRefMatch<T> = { match: T } | { none: true } | { ambiguous: number };

/**
 * The one rule set for snapshot references, shared by `dump` (over the
 * engine's listing) and the index db (the CLI, the dashboard's
 * /snapshots/<ref>), tried in this order:
 * 1. `latest`: the newest candidate (the last of equal times);
 *    a backup-id (`YYYYmmddTHHMMSS-<pid>`, the backup-header's): the
 *    candidate with that backup-id, when `backupIdOf` knows them (the index
 *    db does; an engine listing does not);
 * 2. an exact id (restic id or borg archive name);
 * 3. an exact short id ({@link shortSnapshotId});
 * 4. a unique start, of at least {@link MIN_REF_START} characters, of an id
 *    or of a short id (restic's prefix rule; the floor keeps a db row id
 *    such as "12" from meaning the snapshot whose id starts "12").
 * A reference of hex digits also matches in lower case (restic ids are
 * lower-case hex). Pure: never throws.
 * @param candidates the snapshots that may be meant (data snapshots only)
 * @param ref what the user typed, already trimmed
 * @param shortOf the short id of a candidate
 * @param backupIdOf the backup-id of a candidate, when known
 */
export function matchSnapshotRef<T extends { id: string; time: Date }>(candidates: readonly T[], ref: string, shortOf: (c: T) => string, backupIdOf?: (c: T) => string | undefined): SnapshotRefMatch<T> {
  if (ref === "latest") {
    const newest = candidates.reduce<T | undefined>((a, s) => (!a || s.time >= a.time ? s : a), undefined);
    return newest ? { match: newest } : { none: true };
  }
  if (!ref) return { none: true };
  const pick = (found: T[]): SnapshotRefMatch<T> | undefined => (found.length === 1 ? { match: found[0]! } : found.length > 1 ? { ambiguous: found.length } : undefined);
  // a backup-id is no restic id (hex) nor a name borg archives of ours have ("qubes-dedup,…"), so it is tried first
  const byBackupId = backupIdOf && isBackupId(ref) ? pick(candidates.filter((s) => backupIdOf(s) === ref)) : undefined;
  if (byBackupId) return byBackupId;
  const refs = /^[0-9A-Fa-f]+$/.test(ref) ? [...new Set([ref, ref.toLowerCase()])] : [ref];
  return (
    pick(candidates.filter((s) => refs.includes(s.id))) ??
    pick(candidates.filter((s) => refs.includes(shortOf(s)))) ??
    (ref.length >= MIN_REF_START ? pick(candidates.filter((s) => refs.some((r) => s.id.startsWith(r) || shortOf(s).startsWith(r)))) : undefined) ?? { none: true }
  );
}

/**
 * Finds the data snapshot a reference names, among data snapshots only, by
 * the rules of {@link matchSnapshotRef}.
 * @param all every snapshot of the repository (`Engine.snapshots()`)
 * @param repo the repository's engine (for short ids) and location (for messages)
 * @throws DumpError for an unknown or ambiguous reference, or "latest" in a repository without backups
 */
export function resolveSnapshot(all: EngineSnapshot[], ref: string, repo: Pick<RepositoryRef, "engine" | "location">): EngineSnapshot {
  const location = repo.location;
  const m = matchSnapshotRef(dataSnapshotsOf(all), ref, (s) => shortSnapshotId(repo.engine, s.id));
  if ("match" in m) return m.match;
  const incomplete = ref === "latest" ? undefined : matchSnapshotRef(incompleteRunsOf(all).filter(isDataSnapshot), ref, (s) => shortSnapshotId(repo.engine, s.id));
  if (incomplete && "match" in incomplete)
    throw new DumpError(`snapshot ${incomplete.match.id} in ${location} is not a backup: its run was interrupted before its side record was stored, so the stream cannot be rebuilt; restore another backup (see qubes-dedup snapshots), the next backup removes it.`);
  if (ref === "latest") throw new DumpError(`there are no backups in ${location} yet, so there is no latest one; run a backup first.`);
  if ("ambiguous" in m)
    throw new DumpError(`the snapshot reference "${ref}" is ambiguous in ${location} (it starts ${m.ambiguous} backups' ids); give more characters of the id (see qubes-dedup snapshots).`);
  throw new DumpError(`there is no backup "${ref}" in ${location}; give the id of one, or a unique start of it (${MIN_REF_START} characters or more), or latest (see qubes-dedup snapshots).`);
}
