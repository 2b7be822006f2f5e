/**
 * What a user types to name a snapshot — in `qubes-dedup dump <snapshot>` and
 * in the dashboard's /snapshots/<ref> — resolved against the index db by one
 * set of rules.
 */
import type { Database } from "@qubes-dedup/db";
import { ServiceError } from "./errors.ts";

/** What a snapshot reference names: one snapshot's db id, nothing, or several snapshots. */
export type SnapshotRefMatch = { id: number } | { none: true } | { ambiguous: number };

/** Shortest engine-id prefix accepted, so a prefix is as specific as restic's short ids. */
export const MIN_PREFIX = 8;

/** Most matches counted for an ambiguous prefix. */
const COUNT_LIMIT = 10;

/**
 * Resolves a snapshot reference, tried in this order:
 * 1. `latest`: the newest snapshot (by creation time, then db id);
 * 2. a full engine snapshot id (restic id or borg archive name);
 * 3. a prefix of at least {@link MIN_PREFIX} hex digits (any case) of an
 *    engine id, when exactly one id starts with it;
 * 4. a db row id (digits).
 * Engine ids win over a db id that happens to look like a prefix. With
 * `repositoryId` only that repository's snapshots count; without it, all.
 * Pure lookup: never throws for a reference that names nothing.
 */
export async function resolveSnapshotRef(db: Database, ref: string, scope: { repositoryId?: number } = {}): Promise<SnapshotRefMatch> {
  const r = ref.trim();
  const where = scope.repositoryId === undefined ? {} : { repositoryId: scope.repositoryId };
  const one = (rows: { id: number }[]): SnapshotRefMatch | undefined =>
    rows.length === 1 ? { id: rows[0]!.id } : rows.length > 1 ? { ambiguous: rows.length } : undefined;
  const select = { id: true } as const;
  if (r === "latest") {
    const s = await db.prisma.snapshot.findFirst({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], select });
    return s ? { id: s.id } : { none: true };
  }
  const exact = one(await db.prisma.snapshot.findMany({ where: { ...where, engineSnapshotId: r }, select, take: 2 }));
  if (exact) return exact;
  if (r.length >= MIN_PREFIX && /^[0-9a-f]+$/i.test(r)) {
    const prefix = one(
      await db.prisma.snapshot.findMany({ where: { ...where, engineSnapshotId: { startsWith: r.toLowerCase() } }, select, take: COUNT_LIMIT }),
    );
    if (prefix) return prefix;
  }
  const dbId = /^[0-9]+$/.test(r) ? Number(r) : NaN;
  if (!Number.isSafeInteger(dbId) || dbId <= 0) return { none: true };
  const s = await db.prisma.snapshot.findFirst({ where: { ...where, id: dbId }, select });
  return s ? { id: s.id } : { none: true };
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
