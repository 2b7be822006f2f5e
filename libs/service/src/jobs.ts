import type { Database } from "@qubes-dedup/db";

/** Kinds of job recorded in the index db. */
export type JobKind = "backup" | "dump";

/** True when a process with this id exists (EPERM means it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Marks as failed every "running" job whose process is gone (killed, power
 * loss), so the dashboard never shows a dead run as in progress.
 * @returns the number of jobs marked.
 */
export async function failAbandonedJobs(db: Database): Promise<number> {
  const running = await db.prisma.job.findMany({ where: { status: "running" } });
  let n = 0;
  for (const job of running) {
    if (job.pid != null && job.pid !== process.pid && processAlive(job.pid)) continue;
    if (job.pid === process.pid) continue;
    await db.prisma.job.update({
      where: { id: job.id },
      data: {
        status: "failed",
        finishedAt: new Date(),
        error: "the process running this job stopped before it finished (killed or power loss); no snapshot was recorded for it, run the backup again.",
      },
    });
    n++;
  }
  return n;
}

/** Creates a "running" job owned by this process and returns its id. */
export async function startJob(db: Database, repositoryId: number, kind: JobKind): Promise<number> {
  await failAbandonedJobs(db);
  const job = await db.prisma.job.create({ data: { repositoryId, kind, status: "running", pid: process.pid } });
  return job.id;
}

/** Records the end of a job: failed with `error`, or succeeded. */
export async function finishJob(db: Database, id: number, outcome: { error?: string; bytesDone?: number; snapshotRef?: string }): Promise<void> {
  await db.prisma.job.update({
    where: { id },
    data: {
      status: outcome.error ? "failed" : "succeeded",
      finishedAt: new Date(),
      error: outcome.error ?? null,
      ...(outcome.bytesDone != null ? { bytesDone: BigInt(outcome.bytesDone) } : {}),
      ...(outcome.snapshotRef ? { snapshotRef: outcome.snapshotRef } : {}),
    },
  });
}

/**
 * Writes progress to a job at most once per `intervalSeconds`, one write at a
 * time, so a fast stream never floods SQLite. `flush()` waits for the last write.
 */
export function progressRecorder(db: Database, jobId: number, intervalSeconds = 1) {
  let last = 0;
  let chain: Promise<unknown> = Promise.resolve();
  let pending: { bytesDone: number; bytesExpected?: number } | undefined;
  const write = () => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    chain = chain
      .then(() =>
        db.prisma.job.update({
          where: { id: jobId },
          data: { bytesDone: BigInt(p.bytesDone), ...(p.bytesExpected != null ? { bytesExpected: BigInt(p.bytesExpected) } : {}) },
        }),
      )
      .catch(() => {});
  };
  return {
    update(bytesDone: number, bytesExpected?: number) {
      pending = { bytesDone, bytesExpected };
      const now = Date.now();
      if (now - last >= intervalSeconds * 1000) {
        last = now;
        write();
      }
    },
    async flush() {
      write();
      await chain;
    },
  };
}

/** "running" jobs whose process is gone are shown as "interrupted". */
export type JobStatus = "running" | "succeeded" | "failed" | "interrupted";

/** A backup/restore/verify run as shown in the dashboard. Sizes in bytes. */
export interface JobView {
  id: number;
  kind: string;
  status: JobStatus;
  startedAt: Date;
  finishedAt: Date | null;
  bytesDone: bigint;
  bytesExpected: bigint | null;
  /** One sentence naming the cause and the fix, for failed jobs. */
  error: string | null;
  snapshotRef: string | null;
}

type JobRow = Awaited<ReturnType<Database["prisma"]["job"]["findFirst"]>> & {};

/** Maps a Job row to its view, telling a crashed run from a live one by its pid. */
export function jobView(j: JobRow): JobView {
  let status = j.status as JobStatus;
  if (status === "running" && j.pid !== null && !processAlive(j.pid)) status = "interrupted";
  return {
    id: j.id,
    kind: j.kind,
    status,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    bytesDone: j.bytesDone,
    bytesExpected: j.bytesExpected,
    error: j.error,
    snapshotRef: j.snapshotRef,
  };
}
