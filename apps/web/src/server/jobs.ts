import type { Database } from "@qubes-dedup/db";
import { processAlive } from "@qubes-dedup/service";

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
