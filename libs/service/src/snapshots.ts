import type { Database } from "@qubes-dedup/db";
import { shortSnapshotId, type EngineKind } from "@qubes-dedup/pipeline";
import { getRepository } from "./repositories.ts";

/**
 * One snapshot as `qubes-dedup snapshots` and the dashboard list it. Sizes in
 * bytes, duration in seconds.
 *
 * Dedup ratio (this project's definition): the logical bytes of every
 * snapshot of the repository up to and including this one, divided by the
 * repository size right after this one was stored. It says how many bytes of
 * backups each stored byte stands for; `null` ("no data yet") when the
 * repository size is 0 or unknown.
 */
export interface SnapshotRow {
  /** Row id in the index db (the dashboard's /snapshots/<id>). */
  id: number;
  /** The engine's snapshot id (restic) or archive name (borg). */
  engineSnapshotId: string;
  /** What lists show and `dump` takes: restic's 8-hex short id, or a borg run's 8 random hex digits (pipeline `shortSnapshotId`). */
  shortId: string;
  backupId: string;
  createdAt: Date;
  /** Qube names in qid order. */
  qubes: string[];
  /** Bytes of the original stream. */
  logicalBytes: bigint;
  /** Bytes this snapshot added to the repository (engine's figure). */
  addedBytes: bigint;
  /** Repository size right after this snapshot. */
  repositoryBytes: bigint;
  cumulativeLogicalBytes: bigint;
  dedupRatio: number | null;
  compressed: boolean;
  durationSeconds: number;
  streamSha256: string;
  /** One-sentence warnings recorded at ingest (compressed, not authenticated, …). */
  warnings: string[];
}

/** cumulative ÷ repository, or null when the repository size is not positive. */
export function dedupRatio(cumulativeLogicalBytes: bigint, repositoryBytes: bigint): number | null {
  if (repositoryBytes <= 0n) return null;
  return Number(cumulativeLogicalBytes) / Number(repositoryBytes);
}

/** Optional narrowing and order of {@link listSnapshots}: a qube name, a time range (inclusive). */
export interface SnapshotFilter {
  qube?: string;
  from?: Date;
  to?: Date;
  /** Newest first (the dashboard); default oldest first (the CLI, `--json`). */
  newestFirst?: boolean;
}

/**
 * The snapshots of one repository — by registered name or by db id — with
 * cumulative sizes and dedup ratio. Order of storage is `createdAt`, then id.
 * The filter applies after the cumulative sums, so ratios stay those of the
 * whole repository.
 * @throws ServiceError when a repository name is not registered (an unknown
 *   db id gives an empty list).
 */
export async function listSnapshots(db: Database, repository: string | number, filter: SnapshotFilter = {}): Promise<SnapshotRow[]> {
  const repo = typeof repository === "number" ? await db.prisma.repository.findUnique({ where: { id: repository } }) : await getRepository(db, repository);
  if (!repo) return [];
  const repositoryId = repo.id;
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
      shortId: shortSnapshotId(repo.engine as EngineKind, s.engineSnapshotId),
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
      warnings: JSON.parse(s.warnings) as string[],
    };
  });
  const kept = out.filter(
    (r) =>
      (filter.qube === undefined || r.qubes.includes(filter.qube)) &&
      (filter.from === undefined || r.createdAt >= filter.from) &&
      (filter.to === undefined || r.createdAt <= filter.to),
  );
  return filter.newestFirst ? kept.reverse() : kept;
}

/** A snapshot as `qubes-dedup snapshots --json` prints it: sizes as numbers of bytes, `id` the engine's id. */
export interface SnapshotJson {
  id: string;
  /** The id to show and to pass to `dump` (see {@link SnapshotRow.shortId}). */
  shortId: string;
  backupId: string;
  time: Date;
  qubes: string[];
  logicalBytes: number;
  addedBytes: number;
  repositoryBytes: number;
  /** To 3 decimals (truncated); null before the repository holds data (see {@link SnapshotRow}). */
  dedupRatio: number | null;
  compressed: boolean;
  streamSha256: string;
  warnings: string[];
}

/** The `--json` form of a row (the contract the demo and scripts read). */
export function snapshotJson(s: SnapshotRow): SnapshotJson {
  return {
    id: s.engineSnapshotId,
    shortId: s.shortId,
    backupId: s.backupId,
    time: s.createdAt,
    qubes: s.qubes,
    logicalBytes: Number(s.logicalBytes),
    addedBytes: Number(s.addedBytes),
    repositoryBytes: Number(s.repositoryBytes),
    dedupRatio: s.repositoryBytes > 0n ? Number((s.cumulativeLogicalBytes * 1000n) / s.repositoryBytes) / 1000 : null,
    compressed: s.compressed,
    streamSha256: s.streamSha256,
    warnings: s.warnings,
  };
}
