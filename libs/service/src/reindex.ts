import { dataSnapshotsOf, incompleteRunsOf, readSnapshotInfo, shortSnapshotId, sideOf } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { engineFor, getRepository } from "./repositories.ts";

/** What {@link reindex} changed in the index db. */
export interface ReindexResult {
  /** Backups found in the repository and added to the index. */
  added: number;
  /** Backups the index already had. */
  kept: number;
  /** Index rows whose backup is no longer in the repository, removed. */
  removed: number;
  /** Ids of added backups whose side record predates the stored summary (no qubes listed). */
  partial: string[];
  /** Short ids of snapshots of interrupted runs (a data snapshot without its side record, …): skipped, they are not backups. */
  incomplete: string[];
  /** Backups whose side record could not be read, with the reason: skipped, the others are indexed all the same. */
  failed: { snapshotId: string; reason: string }[];
}

/** Marks rows rebuilt by reindex; the engine's figures of that time are gone. */
const REBUILT =
  "rebuilt from the repository by qubes-dedup reindex: the new data it added and the repository size at that time are not known.";

/**
 * Rebuilds a repository's snapshot rows from the repository itself (the
 * source of truth; DESIGN.md "Disaster recovery is the product"): every
 * backup's summary is read from its side record (a few KiB each, not the
 * data). Rows of backups that are gone from the repository are removed.
 * Repository size of rebuilt rows is today's, their new-data figure 0.
 * Snapshots of interrupted runs are skipped and reported (`incomplete`), as
 * are backups whose side record cannot be read (`failed`): every complete,
 * readable backup is indexed whatever the others are.
 * @throws ServiceError when the repository is not registered; EngineError.
 */
export async function reindex(db: Database, repository: string): Promise<ReindexResult> {
  const repo = await getRepository(db, repository);
  const engine = engineFor(repo);
  // one listing for the whole run: each backup's side record is found in it
  const all = await engine.snapshots();
  const backups = dataSnapshotsOf(all);
  const rows = await db.prisma.snapshot.findMany({ where: { repositoryId: repo.id }, select: { id: true, engineSnapshotId: true, sideSnapshotId: true } });
  const indexed = new Map(rows.map((r) => [r.engineSnapshotId, r]));
  const present = new Set(backups.map((b) => b.id));
  const result: ReindexResult = { added: 0, kept: 0, removed: 0, partial: [], incomplete: incompleteRunsOf(all).map((s) => shortSnapshotId(engine.kind, s.id)), failed: [] };
  const repositoryBytes = BigInt(await engine.repositoryBytes());
  for (const b of backups) {
    const row = indexed.get(b.id);
    if (row) {
      // rows written before the side record's id was kept get it now, so their restores skip the listing too
      const side = row.sideSnapshotId ? undefined : sideOf(all, b);
      if (side) await db.prisma.snapshot.update({ where: { id: row.id }, data: { sideSnapshotId: side.id } });
      result.kept++;
      continue;
    }
    let info;
    try {
      info = await readSnapshotInfo(engine, b.id, all);
    } catch (e) {
      // one unreadable side record must not keep every other backup out of the index
      result.failed.push({ snapshotId: shortSnapshotId(engine.kind, b.id), reason: (e as Error).message });
      continue;
    }
    const { summary, sideSnapshotId } = info;
    if (summary.partial) result.partial.push(b.id);
    await db.prisma.snapshot.create({
      data: {
        repositoryId: repo.id,
        engineSnapshotId: b.id,
        sideSnapshotId,
        backupId: summary.backupId ?? "unknown",
        createdAt: summary.createdAt ? new Date(summary.createdAt) : b.time,
        logicalBytes: BigInt(summary.logicalBytes ?? 0),
        addedBytes: 0n,
        repositoryBytes,
        streamSha256: summary.streamSha256 ?? "",
        compressed: summary.compressed ?? false,
        durationSeconds: summary.durationSeconds ?? 0,
        warnings: JSON.stringify([...(summary.warnings ?? []), REBUILT]),
        listedQubes: JSON.stringify(summary.listed ?? []),
        qubes: {
          create: (summary.qubes ?? []).map((q) => ({
            qid: q.qid,
            name: q.name,
            backupPath: q.backupPath,
            backupSizeBytes: BigInt(q.backupSizeBytes),
            volumes: { create: q.files.map((f) => ({ name: f.name, streamBytes: BigInt(f.streamBytes), chunks: f.chunks })) },
          })),
        },
      },
    });
    result.added++;
  }
  const gone = rows.filter((r) => !present.has(r.engineSnapshotId));
  if (gone.length) await db.prisma.snapshot.deleteMany({ where: { id: { in: gone.map((r) => r.id) } } });
  result.removed = gone.length;
  return result;
}
