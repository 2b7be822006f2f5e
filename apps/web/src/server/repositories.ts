import type { Database } from "@qubes-dedup/db";
import { jobView, type JobView } from "./jobs.ts";
import { dedupRatio } from "./snapshots.ts";

/** How many failed jobs a repository view lists at most. */
export const FAILED_JOBS_SHOWN = 20;

/**
 * A repository as shown in the dashboard. Never carries the password file.
 * `repositoryBytes` is the size after the newest snapshot (null before the
 * first); `logicalBytes` the sum of all snapshots' stream sizes.
 */
export interface RepositoryView {
  id: number;
  name: string;
  engine: string;
  location: string;
  createdAt: Date;
  snapshotCount: number;
  repositoryBytes: bigint | null;
  logicalBytes: bigint;
  dedupRatio: number | null;
  lastJob: JobView | null;
  /** Newest first, at most {@link FAILED_JOBS_SHOWN}. */
  failedJobs: JobView[];
}

/** Every repository in the index with its totals and recent job outcomes, by name. */
export async function listRepositories(db: Database): Promise<RepositoryView[]> {
  const repos = await db.prisma.repository.findMany({ orderBy: { name: "asc" } });
  return Promise.all(repos.map((r) => repositoryView(db, r)));
}

type RepoRow = Awaited<ReturnType<Database["prisma"]["repository"]["findMany"]>>[number];

async function repositoryView(db: Database, r: RepoRow): Promise<RepositoryView> {
  const [newest, totals, lastJob, failed] = await Promise.all([
    db.prisma.snapshot.findFirst({ where: { repositoryId: r.id }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    db.prisma.snapshot.aggregate({ where: { repositoryId: r.id }, _sum: { logicalBytes: true }, _count: true }),
    db.prisma.job.findFirst({ where: { repositoryId: r.id }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] }),
    db.prisma.job.findMany({
      where: { repositoryId: r.id, status: "failed" },
      orderBy: [{ startedAt: "desc" }, { id: "desc" }],
      take: FAILED_JOBS_SHOWN,
    }),
  ]);
  const logicalBytes = totals._sum.logicalBytes ?? 0n;
  return {
    id: r.id,
    name: r.name,
    engine: r.engine,
    location: r.location,
    createdAt: r.createdAt,
    snapshotCount: totals._count,
    repositoryBytes: newest?.repositoryBytes ?? null,
    logicalBytes,
    dedupRatio: newest ? dedupRatio(logicalBytes, newest.repositoryBytes) : null,
    lastJob: lastJob ? jobView(lastJob) : null,
    failedJobs: failed.map(jobView),
  };
}
