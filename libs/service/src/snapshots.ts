import type { Database } from "@qubes-dedup/db";
import { getRepository } from "./repositories.ts";

/** One snapshot as shown by `qubes-dedup snapshots` and the dashboard. */
export interface SnapshotView {
  /** The engine's snapshot id. */
  id: string;
  backupId: string;
  time: Date;
  qubes: string[];
  /** Bytes of the original stream. */
  logicalBytes: bigint;
  /** Bytes this snapshot added to the repository (engine's figure). */
  addedBytes: bigint;
  /** Repository size in bytes right after this snapshot. */
  repositoryBytes: bigint;
  /**
   * Sum of logical bytes of this and all earlier snapshots ÷ repository
   * bytes after this one: how many times over the repository would have to
   * be stored without deduplication. 0 when the repository size is unknown.
   */
  dedupRatio: number;
  compressed: boolean;
  streamSha256: string;
  /** One-sentence warnings recorded at ingest (compressed, not authenticated, …). */
  warnings: string[];
}

/**
 * Lists a repository's snapshots from the index db, oldest first, with the
 * cumulative dedup ratio.
 * @throws ServiceError when the repository is not registered.
 */
export async function listSnapshots(db: Database, repository: string): Promise<SnapshotView[]> {
  const repo = await getRepository(db, repository);
  const rows = await db.prisma.snapshot.findMany({
    where: { repositoryId: repo.id },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    include: { qubes: { orderBy: { qid: "asc" } } },
  });
  let logical = 0n;
  return rows.map((r) => {
    logical += r.logicalBytes;
    return {
      id: r.engineSnapshotId,
      backupId: r.backupId,
      time: r.createdAt,
      qubes: r.qubes.map((q) => q.name),
      logicalBytes: r.logicalBytes,
      addedBytes: r.addedBytes,
      repositoryBytes: r.repositoryBytes,
      dedupRatio: r.repositoryBytes > 0n ? Number((logical * 1000n) / r.repositoryBytes) / 1000 : 0,
      compressed: r.compressed,
      streamSha256: r.streamSha256,
      warnings: JSON.parse(r.warnings) as string[],
    };
  });
}
