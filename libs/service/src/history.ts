import type { Database } from "@qubes-dedup/db";

/** A past or running request as recorded in the index db. */
export interface RequestRecord {
  id: number;
  repository: string;
  /** "backup-request" | "restore" (rows written by the service lib's qrexec requests). */
  kind: string;
  /** "waiting" | "running" | "succeeded" | "failed" | "refused" */
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  /** The snapshot a restore read, when recorded. */
  snapshotRef: string | null;
  /** One sentence naming the cause and the fix, for failed and refused requests. */
  error: string | null;
  /** dom0's one-line summary of a successful request. */
  summary: string | null;
  /** Last progress dom0 reported, 0-100. */
  percent: number | null;
}

/** Most rows a history shows. */
export const HISTORY_LIMIT = 100;

/** Requests of one kind ("restore" or "backup-request"), newest first, at most {@link HISTORY_LIMIT}. */
export async function requestHistory(db: Database, kind: "restore" | "backup-request"): Promise<RequestRecord[]> {
  const rows = await db.prisma.job.findMany({
    where: { kind },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: HISTORY_LIMIT,
    include: { repository: { select: { name: true } } },
  });
  return rows.map((j) => ({
    id: j.id,
    repository: j.repository.name,
    kind: j.kind,
    status: j.status,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    snapshotRef: j.snapshotRef,
    error: j.error,
    summary: j.summary,
    percent: j.percent,
  }));
}
