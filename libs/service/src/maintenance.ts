/**
 * Runs one maintenance task — a backup request, retention, a check or a
 * restore drill — for a schedule or by hand, and records it as a
 * MaintenanceRun with its log and a one-sentence outcome.
 */
import type { Database } from "@qubes-dedup/db";
import { engineFor, getRepository } from "./repositories.ts";
import { applyRetention, getRetention } from "./retention.ts";
import { requestRestore } from "./qrexec.ts";
import { readDataSubsetSchema, type ScheduleKind } from "./schedules.ts";
import { ServiceError } from "./errors.ts";
import { getTask, startBackup, taskDone } from "./tasks.ts";
import { notifyWebhook } from "./webhook.ts";
import { prepareRepository } from "./repository-care.ts";
import { checkProgressOf, followCheck } from "./check-progress.ts";
import type { CheckProgress } from "@qubes-dedup/pipeline";

/**
 * Runs the engine's integrity check; with `readDataSubset` (restic's
 * `--read-data-subset`, e.g. "5%" or "1/10"; borg reads all data with
 * `--verify-data`) it also reads and verifies stored data. `onProgress`
 * gets each status the engine prints.
 * @throws ServiceError (unknown repository), EngineError naming the damage.
 */
export async function checkRepository(db: Database, repository: string, readDataSubset?: string, log?: (line: string) => void, onProgress?: (p: CheckProgress) => void): Promise<void> {
  const repo = await getRepository(db, repository);
  const engine = engineFor(repo);
  await prepareRepository(db, repo.id, engine, { log, removeIncomplete: true });
  await engine.check({ ...(readDataSubset ? { readDataSubset } : {}), ...(onProgress ? { onProgress } : {}) });
}

/** Bytes of log kept per run. */
const LOG_LIMIT = 64 * 1024;

/** What to run. `qubes` for backups, `readDataSubset` for checks. */
export interface MaintenanceRequest {
  repositoryId: number;
  kind: ScheduleKind;
  scheduleId?: number;
  qubes?: string[];
  readDataSubset?: string | null;
  /** For backups: every selected qube, not only the changed ones. */
  fullBackup?: boolean;
  /** For a retention started by hand: the data snapshot ids its preview showed (see RetentionOptions.confirmed). */
  confirmedForget?: string[];
}

type Outcome = { ok: boolean; message: string; log: string[]; snapshotRef?: string };

async function retention(db: Database, repo: string, repositoryId: number, confirmed?: string[]): Promise<Outcome> {
  const policy = await getRetention(db, repositoryId);
  if (!policy) return { ok: false, message: "This repository has no retention policy: set one on the Schedules page.", log: [] };
  const care: string[] = [];
  await prepareRepository(db, repositoryId, engineFor(await getRepository(db, repo)), { log: (l) => care.push(l), removeIncomplete: true });
  const r = await applyRetention(db, repo, policy, { confirmed });
  const rules = `last ${policy.keepLast ?? 0}, daily ${policy.keepDaily ?? 0}, weekly ${policy.keepWeekly ?? 0}, monthly ${policy.keepMonthly ?? 0}`;
  return { ok: true, message: `Kept ${r.keptRuns} backup run(s) and forgot ${r.forgotten.length} (keep ${rules}).`, log: [...care, ...r.log] };
}

async function check(db: Database, repo: string, subset: string | null | undefined, runId: number, engine: string): Promise<Outcome> {
  const log: string[] = [];
  const live = followCheck(runId, engine);
  try {
    await checkRepository(db, repo, subset ?? undefined, (l) => log.push(l), live.onProgress);
  } finally {
    live.end();
  }
  const what = subset ? `structure and ${subset} of the data` : "structure (no data read)";
  log.push(`check ${repo}${subset ? ` --read-data-subset=${subset}` : ""}: no errors`);
  return { ok: true, message: `The repository check passed: ${what} verified.`, log };
}

async function drill(db: Database, repo: string, repositoryId: number): Promise<Outcome> {
  const newest = await db.prisma.snapshot.findFirst({ where: { repositoryId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
  if (!newest) return { ok: false, message: "There is no snapshot to drill a restore with: run a backup first.", log: [] };
  const log: string[] = [`qvm-backup-restore --verify-only --rename-conflicting of snapshot ${newest.engineSnapshotId}`];
  // The drill's qubes exist in dom0 (they are what was backed up); renaming
  // keeps qvm-backup-restore from refusing them, and verify-only writes nothing.
  const req = { repository: repo, snapshot: newest.engineSnapshotId, verifyOnly: true, conflicts: "rename" as const };
  const r = await requestRestore(db, req, { onState: (s) => log.push(`state ${s}`) }, undefined, { notify: false });
  return { ok: r.outcome === "succeeded", message: r.message, log, snapshotRef: newest.engineSnapshotId };
}

/**
 * A backup request to dom0: only the qubes whose data or settings changed
 * since dom0's change record, unless `full`; dom0's verdict on each qube
 * (its `note` lines) goes into the run's log.
 */
async function backup(db: Database, repo: string, qubes: string[], full: boolean): Promise<Outcome> {
  const t = await startBackup(db, { repository: repo, qubes, exclude: [], changed: true, full });
  await taskDone(t.id);
  const end = await getTask(db, t.id);
  const what = `${full ? "full backup" : "changed qubes"} of ${qubes.length ? qubes.join(", ") : "the default set"}`;
  return { ok: end?.state === "succeeded", message: end?.message ?? "The backup request ended without an outcome.", log: [`backup request #${t.id} (${what}): ${end?.state}`, ...(end?.notes ?? [])] };
}

/**
 * Runs `req` now and records it, then tells the repository's webhook. Never
 * throws for task failures: they are recorded as a failed run with the error's sentence.
 * @throws ServiceError for an input that cannot run (readDataSubset "500%"), before anything is recorded
 * @returns the MaintenanceRun id and how it ended.
 */
export async function runMaintenance(db: Database, req: MaintenanceRequest): Promise<{ id: number; ok: boolean; message: string }> {
  if (req.readDataSubset) {
    const subset = readDataSubsetSchema.safeParse(req.readDataSubset);
    if (!subset.success) throw new ServiceError(`${subset.error.issues[0]!.message}; nothing was run.`);
  }
  const repo = await db.prisma.repository.findUniqueOrThrow({ where: { id: req.repositoryId } });
  const run = await db.prisma.maintenanceRun.create({
    data: { repositoryId: repo.id, scheduleId: req.scheduleId ?? null, kind: req.kind, status: "running" },
  });
  let out: Outcome;
  try {
    if (req.kind === "retention") out = await retention(db, repo.name, repo.id, req.confirmedForget);
    else if (req.kind === "check") out = await check(db, repo.name, req.readDataSubset, run.id, repo.engine);
    else if (req.kind === "drill") out = await drill(db, repo.name, repo.id);
    else out = await backup(db, repo.name, req.qubes ?? [], req.fullBackup === true);
  } catch (e) {
    out = { ok: false, message: (e as Error).message, log: [] };
  }
  await db.prisma.maintenanceRun.update({
    where: { id: run.id },
    data: {
      status: out.ok ? "succeeded" : "failed",
      finishedAt: new Date(),
      message: out.message,
      log: out.log.join("\n").slice(0, LOG_LIMIT),
      ...(out.snapshotRef ? { snapshotRef: out.snapshotRef } : {}),
    },
  });
  // a backup run's request has told the webhook already
  if (req.kind !== "backup") {
    const outcome = { repository: repo.name, kind: req.kind, status: out.ok ? "succeeded" : "failed", message: out.message, snapshot: out.snapshotRef ?? null, startedAt: run.startedAt.toISOString(), finishedAt: new Date().toISOString() };
    await notifyWebhook(db, repo.id, outcome);
  }
  return { id: run.id, ok: out.ok, message: out.message };
}

/** The newest maintenance runs (with logs), newest first. */
export async function listRuns(db: Database, limit = 50) {
  const rows = await db.prisma.maintenanceRun.findMany({
    orderBy: { id: "desc" },
    take: limit,
    include: { repository: { select: { name: true } } },
  });
  // a check this process is running shows where it is
  return rows.map(({ repository, ...r }) => ({ ...r, repository: repository.name, progress: r.status === "running" && r.kind === "check" ? checkProgressOf(r.id) : null }));
}
