import type { Database } from "@qubes-dedup/db";
import { withoutPassword } from "@qubes-dedup/pipeline";
import { jobView, type JobView } from "./jobs.ts";
import { dedupRatio } from "./snapshots.ts";
import { nextScheduledBackup } from "./schedules.ts";
import { repositoryVerification, verificationWarnings, type Verification } from "./verification.ts";
import { webhookView, type WebhookView } from "./webhook.ts";

/**
 * What the dashboard says in place of retention for an append-only
 * repository: where it runs instead, and with whose credentials.
 */
export const APPEND_ONLY_RETENTION =
  "This repository is append-only: its server refuses deletions, so this backup qube cannot forget or prune snapshots (and neither can anyone who takes it over). Run retention on the server, as its administrator, with restic forget --prune (or borg prune + compact) against the repository's directory there; see docs/INSTALL-QUBES.md, section 3.5.";

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
  /** the location with a URL's password shown as *** */
  location: string;
  /**
   * The server keeps the repository append-only: retention (forget, prune)
   * cannot run from here, only on the server (see {@link APPEND_ONLY_RETENTION}).
   */
  appendOnly: boolean;
  /** for an append-only repository, where retention runs instead ({@link APPEND_ONLY_RETENTION}); null otherwise */
  retentionElsewhere: string | null;
  /** this machine's name when several machines back up into the repository (its listings hold only its own snapshots); null otherwise */
  machine: string | null;
  /** a CA certificate file is configured for the server's TLS (restic --cacert) */
  hasCaCert: boolean;
  createdAt: Date;
  snapshotCount: number;
  repositoryBytes: bigint | null;
  logicalBytes: bigint;
  dedupRatio: number | null;
  lastJob: JobView | null;
  /** Newest first, at most {@link FAILED_JOBS_SHOWN}. */
  failedJobs: JobView[];
  /** Time of the newest snapshot, null before the first. */
  lastBackupAt: Date | null;
  /** Things the user should act on, one sentence each (see {@link warningsFor}). */
  warnings: string[];
  /** The soonest enabled backup schedule's next time, null when none. */
  nextBackupAt: Date | null;
  /** The newest repository check and restore drill, with their results (null: never). */
  verification: Verification;
  /** The repository's webhook and its last delivery, null when none is set. */
  webhook: WebhookView | null;
}

/** Without a successful check or restore drill for this many days, verification is overdue. */
export const VERIFY_EVERY_DAYS = 30;

/** A backup older than this many days raises a warning. */
export const STALE_BACKUP_DAYS = 7;

const DAY_MS = 86_400_000;

/**
 * The warnings of a repository: compressed snapshots (they do not
 * deduplicate), failed backups since the newest snapshot, an interrupted last
 * job, a newest backup older than {@link STALE_BACKUP_DAYS} days at `now`, and
 * (when `lastVerifiedAt` is given) no successful check or restore drill
 * within {@link VERIFY_EVERY_DAYS} days.
 */
export function warningsFor(
  v: Pick<RepositoryView, "lastJob" | "failedJobs" | "lastBackupAt" | "snapshotCount"> & { lastVerifiedAt?: Date | null },
  compressedCount: number,
  now: Date,
): string[] {
  const out: string[] = [];
  if (compressedCount > 0) {
    out.push(
      `${compressedCount} snapshot${compressedCount === 1 ? " was" : "s were"} made from a compressed backup, which does not deduplicate: back up with qvm-backup --no-compress.`,
    );
  }
  const failedSince = v.failedJobs.filter((j) => j.kind === "backup" && (!v.lastBackupAt || j.startedAt > v.lastBackupAt)).length;
  if (failedSince > 0) {
    out.push(`${failedSince} backup${failedSince === 1 ? "" : "s"} failed since the last good one: see the failed jobs for the reason.`);
  }
  if (v.lastJob?.status === "interrupted") {
    out.push(`The last ${v.lastJob.kind} job stopped without finishing (its process is gone): run it again.`);
  }
  if (v.lastBackupAt && now.getTime() - v.lastBackupAt.getTime() > STALE_BACKUP_DAYS * DAY_MS) {
    const days = Math.floor((now.getTime() - v.lastBackupAt.getTime()) / DAY_MS);
    out.push(`The last backup is ${days} days old: run a backup from dom0.`);
  }
  if (v.snapshotCount === 0) out.push("There is no backup in this repository yet: run a backup from dom0.");
  if (v.snapshotCount > 0 && v.lastVerifiedAt !== undefined) {
    const age = v.lastVerifiedAt ? (now.getTime() - v.lastVerifiedAt.getTime()) / DAY_MS : Infinity;
    if (age > VERIFY_EVERY_DAYS) {
      out.push(
        `${v.lastVerifiedAt ? `The last verification was ${Math.floor(age)} days ago` : "This repository has never been verified"}: run a check or a restore drill on the Schedules page (and schedule one).`,
      );
    }
  }
  return out;
}

/**
 * What ingest warned about the newest snapshot (not authenticated by the
 * shim, unknown inner formats, …), as "Newest snapshot: …" sentences; the
 * compressed warning is left out since {@link warningsFor} counts those.
 */
export function newestSnapshotWarnings(json: string | undefined): string[] {
  if (!json) return [];
  const list = JSON.parse(json) as string[];
  return list.filter((w) => !w.startsWith("the backup is compressed")).map((w) => `Newest snapshot: ${w}`);
}

/** Every repository in the index with its totals and recent job outcomes, by name. */
export async function listRepositories(db: Database, now: Date = new Date()): Promise<RepositoryView[]> {
  const repos = await db.prisma.repository.findMany({ orderBy: { name: "asc" } });
  return Promise.all(repos.map((r) => repositoryView(db, r, now)));
}

/** The request whose run dom0 started a dump (restore) or an ingest (backup) for. */
const REQUEST_OF: Record<string, string> = { dump: "restore", backup: "backup-request" };

/**
 * The newest job of a repository as the user sees it: a `dump` or ingest
 * that dom0 ran for a restore or backup request is shown as that request
 * (its kind, its state), not as the inner step.
 */
async function lastUserJob(db: Database, repositoryId: number) {
  const newest = await db.prisma.job.findFirst({ where: { repositoryId }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] });
  const requestKind = newest ? REQUEST_OF[newest.kind] : undefined;
  if (!newest || !requestKind) return newest;
  const request = await db.prisma.job.findFirst({
    where: { repositoryId, kind: requestKind, startedAt: { lte: newest.startedAt }, OR: [{ finishedAt: null }, { finishedAt: { gte: newest.startedAt } }] },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
  });
  return request ?? newest;
}

type RepoRow = Awaited<ReturnType<Database["prisma"]["repository"]["findMany"]>>[number];

async function repositoryView(db: Database, r: RepoRow, now: Date): Promise<RepositoryView> {
  const [newest, totals, lastJob, failed, compressed, nextBackupAt, verified, verification] = await Promise.all([
    db.prisma.snapshot.findFirst({ where: { repositoryId: r.id }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
    db.prisma.snapshot.aggregate({ where: { repositoryId: r.id }, _sum: { logicalBytes: true }, _count: true }),
    lastUserJob(db, r.id),
    db.prisma.job.findMany({
      where: { repositoryId: r.id, status: "failed" },
      orderBy: [{ startedAt: "desc" }, { id: "desc" }],
      take: FAILED_JOBS_SHOWN,
    }),
    db.prisma.snapshot.count({ where: { repositoryId: r.id, compressed: true } }),
    nextScheduledBackup(db, r.id, now),
    db.prisma.maintenanceRun.findFirst({
      where: { repositoryId: r.id, status: "succeeded", kind: { in: ["check", "drill"] } },
      orderBy: { startedAt: "desc" },
    }),
    repositoryVerification(db, r.id),
  ]);
  const logicalBytes = totals._sum.logicalBytes ?? 0n;
  const view = {
    id: r.id,
    name: r.name,
    engine: r.engine,
    location: withoutPassword(r.location),
    appendOnly: r.appendOnly,
    retentionElsewhere: r.appendOnly ? APPEND_ONLY_RETENTION : null,
    machine: r.machine,
    hasCaCert: r.caCertFile !== null,
    createdAt: r.createdAt,
    snapshotCount: totals._count,
    repositoryBytes: newest?.repositoryBytes ?? null,
    logicalBytes,
    dedupRatio: newest ? dedupRatio(logicalBytes, newest.repositoryBytes) : null,
    lastJob: lastJob ? jobView(lastJob) : null,
    failedJobs: failed.map(jobView),
    lastBackupAt: newest?.createdAt ?? null,
    nextBackupAt,
    verification,
    webhook: webhookView(r),
  };
  const warnings = warningsFor({ ...view, lastVerifiedAt: verified?.startedAt ?? null }, compressed, now);
  const hookFailed = view.webhook?.lastError ? [view.webhook.lastError] : [];
  return { ...view, warnings: [...warnings, ...verificationWarnings(verification), ...hookFailed, ...newestSnapshotWarnings(newest?.warnings)] };
}
