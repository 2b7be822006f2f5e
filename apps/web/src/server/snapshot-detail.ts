import type { Database } from "@qubes-dedup/db";
import { dedupRatio } from "./snapshots.ts";

/** A file of a qube in a snapshot. Sizes in bytes. */
export interface VolumeView {
  name: string;
  streamBytes: bigint;
  chunks: number;
}

/** A qube in a snapshot, from the stream's qubes.xml. */
export interface QubeView {
  qid: number;
  name: string;
  backupPath: string;
  backupSizeBytes: bigint;
  volumes: VolumeView[];
}

/** Everything recorded about one snapshot, for its detail page. Sizes in bytes, duration in seconds. */
export interface SnapshotDetail {
  id: number;
  repository: { id: number; name: string; engine: string };
  engineSnapshotId: string;
  backupId: string;
  createdAt: Date;
  durationSeconds: number;
  logicalBytes: bigint;
  addedBytes: bigint;
  repositoryBytes: bigint;
  cumulativeLogicalBytes: bigint;
  dedupRatio: number | null;
  streamSha256: string;
  compressed: boolean;
  jobId: number | null;
  qubes: QubeView[];
}

/** One snapshot with its qubes and volumes, or null when there is no such id. */
export async function getSnapshot(db: Database, id: number): Promise<SnapshotDetail | null> {
  const s = await db.prisma.snapshot.findUnique({
    where: { id },
    include: {
      repository: { select: { id: true, name: true, engine: true } },
      qubes: { orderBy: { qid: "asc" }, include: { volumes: { orderBy: { id: "asc" } } } },
    },
  });
  if (!s) return null;
  // Same order as the list: createdAt, then id.
  const before = await db.prisma.snapshot.aggregate({
    where: {
      repositoryId: s.repositoryId,
      OR: [{ createdAt: { lt: s.createdAt } }, { createdAt: s.createdAt, id: { lte: s.id } }],
    },
    _sum: { logicalBytes: true },
  });
  const cumulative = before._sum.logicalBytes ?? s.logicalBytes;
  return {
    id: s.id,
    repository: s.repository,
    engineSnapshotId: s.engineSnapshotId,
    backupId: s.backupId,
    createdAt: s.createdAt,
    durationSeconds: s.durationSeconds,
    logicalBytes: s.logicalBytes,
    addedBytes: s.addedBytes,
    repositoryBytes: s.repositoryBytes,
    cumulativeLogicalBytes: cumulative,
    dedupRatio: dedupRatio(cumulative, s.repositoryBytes),
    streamSha256: s.streamSha256,
    compressed: s.compressed,
    jobId: s.jobId,
    qubes: s.qubes.map((q) => ({
      qid: q.qid,
      name: q.name,
      backupPath: q.backupPath,
      backupSizeBytes: q.backupSizeBytes,
      volumes: q.volumes.map((v) => ({ name: v.name, streamBytes: v.streamBytes, chunks: v.chunks })),
    })),
  };
}

/** What a snapshot reference names: one snapshot's db id, nothing, or several snapshots. */
export type SnapshotRefMatch = { id: number } | { none: true } | { ambiguous: number };

/** Shortest engine-id prefix accepted, so a prefix is as specific as restic's short ids. */
export const MIN_PREFIX = 8;

/**
 * Resolves what a user types after `/snapshots/`: a db row id (digits, shorter
 * than {@link MIN_PREFIX}), a full engine snapshot id (as `qubes-dedup snapshots`
 * and the restore page show), or a unique prefix of at least 8 hex digits of one.
 * Engine ids win over a db id that happens to look like a prefix.
 */
export async function resolveSnapshotRef(db: Database, ref: string): Promise<SnapshotRefMatch> {
  const r = ref.trim();
  const dbId = /^[0-9]+$/.test(r) ? Number(r) : NaN;
  const asDbId = async (): Promise<SnapshotRefMatch> => {
    if (!Number.isSafeInteger(dbId) || dbId <= 0) return { none: true };
    const s = await db.prisma.snapshot.findUnique({ where: { id: dbId }, select: { id: true } });
    return s ? { id: s.id } : { none: true };
  };
  if (r.length < MIN_PREFIX) return asDbId();
  const exact = await db.prisma.snapshot.findMany({ where: { engineSnapshotId: r }, select: { id: true }, take: 2 });
  if (exact.length === 1) return { id: exact[0]!.id };
  if (exact.length > 1) return { ambiguous: exact.length };
  if (/^[0-9a-f]+$/i.test(r)) {
    const hits = await db.prisma.snapshot.findMany({
      where: { engineSnapshotId: { startsWith: r.toLowerCase() } },
      select: { id: true },
      take: 10,
    });
    if (hits.length === 1) return { id: hits[0]!.id };
    if (hits.length > 1) return { ambiguous: hits.length };
  }
  return asDbId();
}

/** Distinct qube names across a repository's snapshots, sorted. */
export async function qubeNames(db: Database, repositoryId: number): Promise<string[]> {
  const rows = await db.prisma.snapshotQube.findMany({
    where: { snapshot: { repositoryId } },
    distinct: ["name"],
    select: { name: true },
    orderBy: { name: "asc" },
  });
  return rows.map((r) => r.name);
}
