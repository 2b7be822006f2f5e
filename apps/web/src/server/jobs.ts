import type { Database } from "@qubes-dedup/db";

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

/** True when a process with this id exists (EPERM means it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

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
