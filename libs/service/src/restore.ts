import { dump, type DumpResult } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { engineFor, getRepository } from "./repositories.ts";
import { finishJob, startJob } from "./jobs.ts";
import { ServiceError } from "./errors.ts";

/** Options of {@link runDump}. */
export interface RunDumpOptions {
  repository: string;
  /** Engine snapshot id, a unique prefix of one (≥ 8 hex for restic), or "latest". */
  snapshot: string;
  /** Where the original backup stream is written, e.g. process.stdout. */
  output: NodeJS.WritableStream;
  signal?: AbortSignal;
}

/**
 * Resolves a snapshot reference against the index db: the snapshot row whose
 * engine id equals or starts with `ref`, or the newest for "latest".
 * Returns undefined when the index does not know it (the engine may still:
 * the repository is the source of truth).
 * @throws ServiceError when a prefix matches more than one snapshot.
 */
export async function findSnapshot(db: Database, repositoryId: number, ref: string) {
  if (ref === "latest") {
    return db.prisma.snapshot.findFirst({ where: { repositoryId }, orderBy: { createdAt: "desc" } });
  }
  const rows = await db.prisma.snapshot.findMany({ where: { repositoryId, engineSnapshotId: { startsWith: ref } }, take: 2 });
  if (rows.length > 1) throw new ServiceError(`snapshot "${ref}" is ambiguous: give more characters of its id (see "qubes-dedup snapshots").`);
  return rows[0];
}

/**
 * Writes a snapshot's original backup stream to `output` and records a
 * "dump" job. A reader that closes the pipe early (qvm-backup-restore does,
 * on purpose, once it has the files it needs) is a normal end. The stream's
 * SHA-256 is checked against the one recorded at ingest when all of it was
 * written.
 * @throws ServiceError, DumpError, EngineError.
 */
export async function runDump(db: Database, opts: RunDumpOptions): Promise<DumpResult> {
  const repo = await getRepository(db, opts.repository);
  const row = await findSnapshot(db, repo.id, opts.snapshot);
  const engineRef = row?.engineSnapshotId ?? opts.snapshot;
  const jobId = await startJob(db, repo.id, "dump");
  try {
    const result = await dump(engineFor(repo), engineRef, opts.output, {
      expectedSha256: row?.streamSha256,
      sideSnapshotId: row?.sideSnapshotId ?? undefined,
      signal: opts.signal,
    });
    await finishJob(db, jobId, { bytesDone: result.bytes, snapshotRef: engineRef });
    return result;
  } catch (e) {
    await finishJob(db, jobId, { error: (e as Error).message, snapshotRef: engineRef }).catch(() => {});
    throw e;
  }
}
