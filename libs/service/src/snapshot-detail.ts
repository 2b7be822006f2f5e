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
