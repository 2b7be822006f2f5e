/**
 * Verification you can see: when a repository was last checked (the
 * engine's `check`) and when a snapshot was last drilled (a verify-only
 * restore through dom0), with the result. A repository or snapshot that has
 * neither is "never verified"; the views say so rather than say nothing.
 */
import type { Database } from "@qubes-dedup/db";

/** One verification's outcome. `at` is when it started; `message` is its one-sentence outcome. */
export interface VerificationResult {
  at: Date;
  /** "succeeded" | "failed" | "running" */
  status: string;
  message: string | null;
  /** The engine snapshot id a drill restored; null for checks. */
  snapshotRef: string | null;
}

/** The newest check and drill of a repository, each null when there has been none. */
export interface Verification {
  lastCheck: VerificationResult | null;
  lastDrill: VerificationResult | null;
}

type Run = { startedAt: Date; status: string; message: string | null; snapshotRef: string | null };
const view = (r: Run | null): VerificationResult | null => (r ? { at: r.startedAt, status: r.status, message: r.message, snapshotRef: r.snapshotRef } : null);

/** Verify-only restore requests (the restore page's "verify only") that dom0 ran count as drills of their snapshot. */
async function verifyOnlyRestore(db: Database, repositoryId: number, snapshotRef?: string): Promise<VerificationResult | null> {
  const job = await db.prisma.job.findFirst({
    where: {
      repositoryId,
      kind: "restore",
      request: { contains: '"verifyOnly":true' },
      ...(snapshotRef ? { snapshotRef } : {}),
      // one that dom0 ran: not one refused, or cancelled before dom0 answered (no progress yet)
      OR: [{ status: { in: ["succeeded", "running"] } }, { status: "failed", percent: { not: null } }],
    },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
  });
  if (!job) return null;
  const status = job.status === "waiting" ? "running" : job.status;
  return { at: job.startedAt, status, message: job.error ?? job.summary, snapshotRef: job.snapshotRef };
}

const newer = (a: VerificationResult | null, b: VerificationResult | null) => (!a ? b : !b ? a : a.at >= b.at ? a : b);

/** The newest check and drill of a repository. */
export async function repositoryVerification(db: Database, repositoryId: number): Promise<Verification> {
  const newest = (kind: string) => db.prisma.maintenanceRun.findFirst({ where: { repositoryId, kind }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] });
  const [check, drill, restore] = await Promise.all([newest("check"), newest("drill"), verifyOnlyRestore(db, repositoryId)]);
  return { lastCheck: view(check), lastDrill: newer(view(drill), restore) };
}

/**
 * Verification of one snapshot: the newest repository check started after
 * it was stored (an older check never read it), and the newest drill of
 * this very snapshot.
 */
export async function snapshotVerification(db: Database, snapshot: { repositoryId: number; engineSnapshotId: string; createdAt: Date }): Promise<Verification> {
  const { repositoryId, engineSnapshotId } = snapshot;
  const [check, drill, restore] = await Promise.all([
    db.prisma.maintenanceRun.findFirst({ where: { repositoryId, kind: "check", startedAt: { gte: snapshot.createdAt } }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] }),
    db.prisma.maintenanceRun.findFirst({ where: { repositoryId, kind: "drill", snapshotRef: engineSnapshotId }, orderBy: [{ startedAt: "desc" }, { id: "desc" }] }),
    verifyOnlyRestore(db, repositoryId, engineSnapshotId),
  ]);
  return { lastCheck: view(check), lastDrill: newer(view(drill), restore) };
}

/** Warnings for a failed newest check or drill, one sentence each. */
export function verificationWarnings(v: Verification): string[] {
  const out: string[] = [];
  if (v.lastCheck?.status === "failed") {
    out.push(`The last repository check failed (${v.lastCheck.at.toISOString().slice(0, 16).replace("T", " ")} UTC): ${v.lastCheck.message ?? "no reason recorded"}`);
  }
  if (v.lastDrill?.status === "failed") {
    out.push(`The last restore drill failed (${v.lastDrill.at.toISOString().slice(0, 16).replace("T", " ")} UTC): ${v.lastDrill.message ?? "no reason recorded"}`);
  }
  return out;
}
