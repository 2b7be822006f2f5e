import type { Readable } from "node:stream";
import { ingest, ingestCancelled, type IngestProgress, type IngestResult } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { engineFor, getRepository } from "./repositories.ts";
import { finishJob, processAlive, progressRecorder, startJob } from "./jobs.ts";
import { ServiceError } from "./errors.ts";
import { notifyWebhook } from "./webhook.ts";
import { errorLine, indexDbError } from "./db-errors.ts";
import { prepareRepository, previousBackupFailed } from "./repository-care.ts";
import { sideCacheFor } from "./side-cache.ts";

/** Options of {@link runBackup}. */
export interface RunBackupOptions {
  /** Registered repository name. */
  repository: string;
  /** The qvm-backup stream (Qubes backup format v4), e.g. process.stdin. */
  input: Readable;
  onProgress?: (p: IngestProgress) => void;
  /**
   * A stop signal (SIGINT, SIGTERM) fired at any time before the snapshot is
   * recorded in the index cancels the run: nothing stays stored, IngestError.
   */
  signal?: AbortSignal;
  /** lines for the job's log: stale locks and interrupted runs removed first */
  log?: (line: string) => void;
  /** seconds the repository's server may keep failing before the backup fails naming it (engine default 60) */
  backendTimeoutSeconds?: number;
}

/** What a successful backup recorded. */
export interface RunBackupResult {
  jobId: number;
  snapshotDbId: number;
  ingest: IngestResult;
  /** Repository size in bytes after the snapshot was stored. */
  repositoryBytes: number;
}

/**
 * Ingests one backup stream into a registered repository and records the job
 * and the snapshot (with its qubes and their files) in the index db. On any
 * failure the job is recorded as failed with the error's sentence, no
 * snapshot row is written, and the error is rethrown.
 * @throws ServiceError, IngestError, EngineError.
 */
export async function runBackup(db: Database, opts: RunBackupOptions): Promise<RunBackupResult> {
  const repo = await getRepository(db, opts.repository);
  const engine = engineFor(repo);
  const jobId = await startJob(db, repo.id, "backup").catch((e: unknown) => {
    throw indexDbError(db, e);
  });
  const progress = progressRecorder(db, jobId);
  let bytesRead = 0;
  try {
    const failedBefore = await previousBackupFailed(db, repo.id, jobId);
    await prepareRepository(db, repo.id, engine, { log: opts.log, jobId, removeIncomplete: failedBefore.failed, pruneAfterFailure: failedBefore.leftPacks });
    const result = await ingest(opts.input, engine, {
      signal: opts.signal,
      sideCache: sideCacheFor(db, repo.id),
      backendTimeoutSeconds: opts.backendTimeoutSeconds,
      onProgress: (p) => {
        bytesRead = p.bytesRead;
        progress.update(p.bytesRead, p.bytesExpected);
        opts.onProgress?.(p);
      },
    });
    await progress.flush();
    const repositoryBytes = await engine.repositoryBytes();
    if (opts.signal?.aborted) {
      await engine.forget([result.snapshotId, result.sideSnapshotId]);
      throw ingestCancelled(result.logicalBytes);
    }
    const snap = await recordSnapshot(db, repo.id, jobId, result, repositoryBytes, opts.repository);
    await finishJob(db, jobId, { bytesDone: result.logicalBytes, snapshotRef: result.snapshotId });
    await tellWebhook(db, repo, jobId, { status: "succeeded", message: `stored snapshot ${result.snapshotId.slice(0, 12)} (${result.qubes.length} qube(s), ${result.logicalBytes} bytes)`, snapshot: result.snapshotId });
    return { jobId, snapshotDbId: snap, ingest: result, repositoryBytes };
  } catch (e) {
    await progress.flush();
    await finishJob(db, jobId, { error: (e as Error).message, bytesDone: bytesRead }).catch(() => {});
    await tellWebhook(db, repo, jobId, { status: "failed", message: (e as Error).message, snapshot: null });
    throw e;
  }
}

/**
 * Tells the webhook of an ingest that no backup request of this qube is
 * waiting for (a backup started in dom0 by hand or by dom0's timer); a
 * requested backup is reported once, by its request.
 */
async function tellWebhook(db: Database, repo: { id: number; name: string }, jobId: number, end: { status: string; message: string; snapshot: string | null }): Promise<void> {
  const job = await db.prisma.job.findUnique({ where: { id: jobId } });
  if (!job) return;
  const asked = await db.prisma.job.findMany({ where: { repositoryId: repo.id, kind: "backup-request", status: { in: ["waiting", "running"] } } });
  if (asked.some((j) => j.pid !== null && processAlive(j.pid))) return;
  await notifyWebhook(db, repo.id, { repository: repo.name, kind: "backup", ...end, startedAt: job.startedAt.toISOString(), finishedAt: (job.finishedAt ?? new Date()).toISOString() });
}

async function recordSnapshot(db: Database, repositoryId: number, jobId: number, r: IngestResult, repositoryBytes: number, repository: string): Promise<number> {
  try {
    const snap = await db.prisma.snapshot.create({
      data: {
        repositoryId,
        jobId,
        engineSnapshotId: r.snapshotId,
        sideSnapshotId: r.sideSnapshotId,
        backupId: r.backupId,
        createdAt: new Date(),
        logicalBytes: BigInt(r.logicalBytes),
        addedBytes: BigInt(r.addedBytes),
        repositoryBytes: BigInt(repositoryBytes),
        streamSha256: r.streamSha256,
        compressed: r.compressed,
        durationSeconds: r.durationSeconds,
        warnings: JSON.stringify(r.warnings),
        listedQubes: JSON.stringify(r.listed),
        qubes: {
          create: r.qubes.map((q) => ({
            qid: q.qid,
            name: q.name,
            backupPath: q.backupPath,
            backupSizeBytes: BigInt(q.backupSizeBytes),
            volumes: { create: q.files.map((f) => ({ name: f.name, streamBytes: BigInt(f.streamBytes), chunks: f.chunks })) },
          })),
        },
      },
    });
    return snap.id;
  } catch (e) {
    const full = indexDbError(db, e, { snapshot: r.snapshotId, repository });
    if (full !== e) throw full;
    throw new ServiceError(
      `snapshot ${r.snapshotId} is stored in the repository but could not be recorded in the index db (${errorLine(e)}): run "qubes-dedup reindex --repo ${repository}" to rebuild the index from the repository.`,
    );
  }
}
