import { DumpError } from "../errors.ts";
import type { EngineKind, EngineSnapshot, RepositoryRef } from "../engine/types.ts";
import { isDataSnapshot } from "./classify.ts";
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

/**
 * Finds the data snapshot a reference names, among data snapshots only:
 * "latest" (the newest), an exact id, an exact short id
 * ({@link shortSnapshotId}), or a unique start of either.
 * @param all every snapshot of the repository (`Engine.snapshots()`)
 * @param repo the repository's engine (for short ids) and location (for messages)
 * @throws DumpError for an unknown or ambiguous reference, or "latest" in a repository without backups
 */
export function resolveSnapshot(all: EngineSnapshot[], ref: string, repo: Pick<RepositoryRef, "engine" | "location">): EngineSnapshot {
  const data = all.filter(isDataSnapshot);
  const location = repo.location;
  if (ref === "latest") {
    const newest = data.reduce<EngineSnapshot | undefined>((a, s) => (!a || s.time > a.time ? s : a), undefined);
    if (!newest) throw new DumpError(`there are no backups in ${location} yet, so there is no latest one; run a backup first.`);
    return newest;
  }
  const exact = data.find((s) => s.id === ref);
  if (exact) return exact;
  const short = (s: EngineSnapshot) => shortSnapshotId(repo.engine, s.id);
  const exactShort = data.filter((s) => short(s) === ref);
  const matches = !ref ? [] : exactShort.length === 1 ? exactShort : data.filter((s) => s.id.startsWith(ref) || short(s).startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new DumpError(`the snapshot reference "${ref}" is ambiguous in ${location} (it starts ${matches.length} backups' ids); give more characters of the id (see qubes-dedup snapshots).`);
  throw new DumpError(`there is no backup "${ref}" in ${location}; give the id of one, or a unique start of it, or latest (see qubes-dedup snapshots).`);
}
