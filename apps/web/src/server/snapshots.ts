import type { Database } from "@qubes-dedup/db";

/**
 * One snapshot row of the dashboard. Sizes in bytes, duration in seconds.
 *
 * Dedup ratio (this project's definition): the logical bytes of every
 * snapshot of the repository up to and including this one, divided by the
 * repository size right after this one was stored. It says how many bytes of
 * backups each stored byte stands for; `null` when the repository size is 0.
 */
export interface SnapshotRow {
  id: number;
  engineSnapshotId: string;
  backupId: string;
  createdAt: Date;
  /** Qube names in qid order. */
  qubes: string[];
  logicalBytes: bigint;
  addedBytes: bigint;
  repositoryBytes: bigint;
  cumulativeLogicalBytes: bigint;
  dedupRatio: number | null;
  compressed: boolean;
  durationSeconds: number;
  streamSha256: string;
}

/** cumulative ÷ repository, or null when the repository size is not positive. */
export function dedupRatio(cumulativeLogicalBytes: bigint, repositoryBytes: bigint): number | null {
  if (repositoryBytes <= 0n) return null;
  return Number(cumulativeLogicalBytes) / Number(repositoryBytes);
}

/** Optional narrowing of {@link listSnapshots}: a qube name, a time range (inclusive). */
export interface SnapshotFilter {
  qube?: string;
  from?: Date;
  to?: Date;
}

/**
 * The snapshots of one repository with cumulative sizes and dedup ratio,
 * newest first. Order of storage is `createdAt`, then id. The filter applies
 * after the cumulative sums, so ratios stay those of the whole repository.
 */
export async function listSnapshots(db: Database, repositoryId: number, filter: SnapshotFilter = {}): Promise<SnapshotRow[]> {
  const rows = await db.prisma.snapshot.findMany({
    where: { repositoryId },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    include: { qubes: { select: { name: true, qid: true }, orderBy: { qid: "asc" } } },
  });
  let cumulative = 0n;
  const out: SnapshotRow[] = rows.map((s) => {
    cumulative += s.logicalBytes;
    return {
      id: s.id,
      engineSnapshotId: s.engineSnapshotId,
      backupId: s.backupId,
      createdAt: s.createdAt,
      qubes: s.qubes.map((q) => q.name),
      logicalBytes: s.logicalBytes,
      addedBytes: s.addedBytes,
      repositoryBytes: s.repositoryBytes,
      cumulativeLogicalBytes: cumulative,
      dedupRatio: dedupRatio(cumulative, s.repositoryBytes),
      compressed: s.compressed,
      durationSeconds: s.durationSeconds,
      streamSha256: s.streamSha256,
    };
  });
  return out
    .filter(
      (r) =>
        (filter.qube === undefined || r.qubes.includes(filter.qube)) &&
        (filter.from === undefined || r.createdAt >= filter.from) &&
        (filter.to === undefined || r.createdAt <= filter.to),
    )
    .reverse();
}
