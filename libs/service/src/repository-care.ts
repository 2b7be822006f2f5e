/**
 * What every run that needs a repository does first, so that a killed run
 * (SIGKILL, power loss) never needs a hand repair: remove the locks of
 * processes that are gone, and forget the snapshots of runs that stored only
 * one half. Each step is reported as one line for the job's log.
 */
import { removeIncompleteRuns, shortSnapshotId, type Engine, type EngineSnapshot } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { processAlive } from "./jobs.ts";

/** Options of {@link prepareRepository}. */
export interface PrepareOptions {
  /** receives each line for the job's log (the CLI prints them on stderr) */
  log?: (line: string) => void;
  /** also forget incomplete runs (when no other ingest can be running) */
  removeIncomplete?: boolean;
  /** prune when no incomplete run was removed (which prunes too): the previous backup failed */
  pruneAfterFailure?: boolean;
  /** the job running now (its own row does not count as another run) */
  jobId?: number;
  /** the listing, when the caller has it */
  listing?: EngineSnapshot[];
}

/**
 * True when another live process runs a backup or dump job of this
 * repository: its ingest may be between its two snapshots.
 */
async function otherRunLive(db: Database, repositoryId: number, jobId: number | undefined): Promise<boolean> {
  const running = await db.prisma.job.findMany({ where: { repositoryId, status: "running", kind: "backup" } });
  return running.some((j) => j.id !== jobId && j.pid != null && j.pid !== process.pid && processAlive(j.pid));
}

/**
 * Removes stale locks (same host, process gone) and, with
 * `removeIncomplete`, the snapshots of interrupted runs. Never throws: a
 * failure is logged and left to the run itself, which reports it in its own
 * words.
 * @returns the incomplete runs' snapshots that were removed
 */
export async function prepareRepository(db: Database, repositoryId: number, engine: Engine, opts: PrepareOptions = {}): Promise<EngineSnapshot[]> {
  const log = opts.log ?? (() => {});
  const loc = engine.repo.location;
  try {
    const n = await engine.removeStaleLocks();
    if (n) log(`removed ${n} stale lock${n === 1 ? "" : "s"} from ${loc} (left by a process of this machine that is gone).`);
  } catch (e) {
    log(`could not remove stale locks from ${loc}: ${(e as Error).message}`);
  }
  if (!opts.removeIncomplete) return [];
  if (engine.repo.appendOnly) {
    log(`${loc} is append-only: the snapshots of an interrupted run (if any) stay until retention on the server removes them; no listing offers them as a backup.`);
    return [];
  }
  if (await otherRunLive(db, repositoryId, opts.jobId)) {
    log(`incomplete runs in ${loc} (if any) are left for later: another backup of this repository is running.`);
    return [];
  }
  try {
    const removed = await removeIncompleteRuns(engine, opts.listing);
    if (removed.length) {
      const ids = removed.map((s) => shortSnapshotId(engine.kind, s.id)).join(", ");
      log(`removed ${removed.length} snapshot${removed.length === 1 ? "" : "s"} of interrupted backup runs from ${loc} (${ids}): none was a complete backup.`);
    } else if (opts.pruneAfterFailure) {
      // a failed run (a full disk, a lost server) may have left packs no snapshot refers to
      await engine.prune();
      log(`pruned ${loc} after the failed run before it: space no snapshot refers to is free again.`);
    }
    return removed;
  } catch (e) {
    log(`could not clean up after the failed run before this one in ${loc}: ${(e as Error).message}`);
    return [];
  }
}

/**
 * True when the repository's previous backup job did not end well (failed,
 * or its process died): only then can an interrupted run's half be there, so
 * a backup lists the repository for it.
 */
export async function previousBackupFailed(db: Database, repositoryId: number, jobId: number): Promise<{ failed: boolean; leftPacks: boolean }> {
  const prev = await db.prisma.job.findFirst({ where: { repositoryId, kind: "backup", id: { lt: jobId } }, orderBy: { id: "desc" } });
  const failed = prev !== null && prev.status !== "succeeded";
  // only a killed run or a full disk can have left packs behind (a refused stream or a wrong password wrote none)
  return { failed, leftPacks: failed && /stopped before it finished|is full|needs .* free on the disk/.test(prev?.error ?? "") };
}
