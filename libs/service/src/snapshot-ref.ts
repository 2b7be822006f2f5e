/**
 * What a user types to name a snapshot — in `qubes-dedup dump <snapshot>` and
 * in the dashboard's /snapshots/<ref> — resolved against the index db by the
 * pipeline's one rule set (`matchSnapshotRef`: latest, backup-id, exact id,
 * short id, unique start), with the index's row id as a last resort.
 */
import type { Database } from "@qubes-dedup/db";
import { matchSnapshotRef, shortSnapshotId, type EngineKind } from "@qubes-dedup/pipeline";
import { ServiceError } from "./errors.ts";

/** What a snapshot reference names: one snapshot's db id, nothing, or several snapshots. */
export type SnapshotRefMatch = { id: number } | { none: true } | { ambiguous: number };

/**
 * Resolves a snapshot reference by the rules of the pipeline's
 * `matchSnapshotRef` over the index's snapshots, then, when nothing matched,
 * as a db row id (digits). Engine ids win over a db id that happens to look
 * like a prefix. With `repositoryId` only that repository's snapshots count;
 * without it, all. Pure lookup: never throws for a reference that names nothing.
 */
export async function resolveSnapshotRef(db: Database, ref: string, scope: { repositoryId?: number } = {}): Promise<SnapshotRefMatch> {
  const r = ref.trim();
  const where = scope.repositoryId === undefined ? {} : { repositoryId: scope.repositoryId };
  const rows = await db.prisma.snapshot.findMany({
    where,
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: { id: true, engineSnapshotId: true, backupId: true, createdAt: true, repository: { select: { engine: true } } },
  });
  const candidates = rows.map((s) => ({ dbId: s.id, id: s.engineSnapshotId, backupId: s.backupId, time: s.createdAt, engine: s.repository.engine as EngineKind }));
  const m = matchSnapshotRef(candidates, r, (c) => shortSnapshotId(c.engine, c.id), (c) => c.backupId);
  if ("match" in m) return { id: m.match.dbId };
  if ("ambiguous" in m) return m;
  const dbId = /^[0-9]+$/.test(r) ? Number(r) : NaN;
  if (!Number.isSafeInteger(dbId) || dbId <= 0) return { none: true };
  return rows.some((s) => s.id === dbId) ? { id: dbId } : { none: true };
}

/**
 * The snapshot row a reference names in one repository (rules of
 * {@link resolveSnapshotRef}), or undefined when the index does not know it
 * (the engine may still: the repository is the source of truth).
 * @throws ServiceError when the reference matches more than one snapshot.
 */
export async function findSnapshot(db: Database, repositoryId: number, ref: string) {
  const m = await resolveSnapshotRef(db, ref, { repositoryId });
  if ("ambiguous" in m) throw new ServiceError(`snapshot "${ref}" is ambiguous: give more characters of its id (see "qubes-dedup snapshots").`);
  if ("none" in m) return undefined;
  return (await db.prisma.snapshot.findUnique({ where: { id: m.id } })) ?? undefined;
}
