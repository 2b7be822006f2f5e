import { dump, type DumpResult } from "@qubes-dedup/pipeline";
import { NameError, checkQubeName } from "@qubes-dedup/protocol";
import { ServiceError } from "./errors.ts";
import type { Database } from "@qubes-dedup/db";
import { engineFor, getRepository } from "./repositories.ts";
import { finishJob, progressRecorder, startJob } from "./jobs.ts";
import { findSnapshot } from "./snapshot-ref.ts";
import { prepareRepository } from "./repository-care.ts";
import { sideCacheFor } from "./side-cache.ts";

/** Options of {@link runDump}. */
export interface RunDumpOptions {
  repository: string;
  /** A snapshot reference: "latest", an engine id, a short id, a unique start of either, or a db id (see resolveSnapshotRef). */
  snapshot: string;
  /** Where the original backup stream is written, e.g. process.stdout. */
  output: NodeJS.WritableStream;
  signal?: AbortSignal;
  /** lines for the job's log (stale locks removed first; an old-layout snapshot sent whole) */
  log?: (line: string) => void;
  /** seconds the repository's server may keep failing before the restore fails naming it (engine default 60) */
  backendTimeoutSeconds?: number;
  /**
   * Only these qubes (names as in the backup's qubes.xml; dom0's home is
   * "dom0"): the stream holds the header files, qubes.xml and their files,
   * and only their data is read (pipeline dump, option `qubes`).
   */
  qubes?: string[];
}

/**
 * Checks a list of qube names to dump (`--qubes a,b`): each a qube name by
 * Qubes' rule, none twice, at least one. Returns it unchanged.
 * @throws ServiceError in one sentence
 */
export function checkDumpQubes(qubes: string[]): string[] {
  if (qubes.length === 0) throw new ServiceError("--qubes names no qube; name at least one (a,b), or leave it out to dump the whole stream.");
  const seen = new Set<string>();
  for (const q of qubes) {
    try {
      checkQubeName(q);
    } catch (e) {
      if (e instanceof NameError) throw new ServiceError(e.message);
      throw e;
    }
    if (seen.has(q)) throw new ServiceError(`qube "${q}" is named twice in --qubes; name each qube once.`);
    seen.add(q);
  }
  return qubes;
}

/**
 * Writes a snapshot's original backup stream to `output` and records a
 * "dump" job (with its progress: bytes written of the stream's recorded size). A reader that closes the pipe early (qvm-backup-restore does,
 * on purpose, once it has the files it needs) is a normal end. The stream's
 * SHA-256 is checked against the one recorded at ingest when all of it was
 * written (not for a `qubes` subset: another stream).
 * @throws ServiceError, DumpError, EngineError.
 */
export async function runDump(db: Database, opts: RunDumpOptions): Promise<DumpResult> {
  if (opts.qubes) checkDumpQubes(opts.qubes);
  const repo = await getRepository(db, opts.repository);
  const row = await findSnapshot(db, repo.id, opts.snapshot);
  const engineRef = row?.engineSnapshotId ?? opts.snapshot;
  const jobId = await startJob(db, repo.id, "dump");
  // bytes written of the stream's size, so a restore shows bytes and an ETA as a backup does
  const expected = row && !opts.qubes ? Number(row.logicalBytes) : undefined;
  const progress = progressRecorder(db, jobId);
  try {
    const engine = engineFor(repo);
    await prepareRepository(db, repo.id, engine, { log: opts.log, jobId });
    const result = await dump(engine, engineRef, opts.output, {
      expectedSha256: row?.streamSha256,
      sideSnapshotId: row?.sideSnapshotId ?? undefined,
      sideCache: sideCacheFor(db, repo.id),
      signal: opts.signal,
      backendTimeoutSeconds: opts.backendTimeoutSeconds,
      onProgress: (bytes) => progress.update(bytes, expected),
      qubes: opts.qubes,
    });
    for (const w of result.warnings) opts.log?.(w);
    await progress.flush();
    await finishJob(db, jobId, { bytesDone: result.bytes, snapshotRef: engineRef });
    return result;
  } catch (e) {
    await progress.flush();
    await finishJob(db, jobId, { error: (e as Error).message, snapshotRef: engineRef }).catch(() => {});
    throw e;
  }
}
