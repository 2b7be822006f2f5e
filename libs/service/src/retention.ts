/**
 * Retention for schedules and the dashboard: the policy per repository and
 * applying it (keep last/daily/weekly/monthly, then the engine's forget/prune).
 *
 * Retention works on backup runs, not engine snapshots: the canonical layout
 * stores each backup as a data snapshot plus a side-record snapshot sharing a
 * `qd-run:` tag (libs/pipeline ingest.ts), and both must go or stay together.
 * So the keep rules (restic's semantics: `--keep-last n` keeps the n newest;
 * `--keep-daily n` keeps the newest run of each of the n newest days that
 * have one; weekly = ISO week, monthly = calendar month; UTC) are evaluated
 * here and the engine is given the ids to forget (`restic forget --prune
 * <ids>` / `borg delete` + `compact`).
 */
import { z } from "zod";
import type { Database } from "@qubes-dedup/db";
import { format } from "date-fns";
import { UTCDate } from "@date-fns/utc";
import { appendOnlyRefusal, DATA_TAG, PROJECT_TAG, runIdOf, type EngineKind, type EngineSnapshot } from "@qubes-dedup/pipeline";
import { engineFor, getRepository } from "./repositories.ts";
import { ServiceError } from "./errors.ts";

/** Keep rules; null or 0 = rule not used. */
export interface KeepPolicy {
  keepLast?: number | null;
  keepDaily?: number | null;
  keepWeekly?: number | null;
  keepMonthly?: number | null;
}

/** ISO 8601 week of `d` in UTC, e.g. "2026-W49" (week-numbering year, not calendar year). */
function isoWeek(d: Date): string {
  return format(new UTCDate(d), "RRRR-'W'II");
}

const BUCKETS: [keyof KeepPolicy, (d: Date) => string][] = [
  ["keepDaily", (d) => d.toISOString().slice(0, 10)],
  ["keepWeekly", isoWeek],
  ["keepMonthly", (d) => d.toISOString().slice(0, 7)],
];

/**
 * Which runs a policy keeps. Pure.
 * @param runs any order; `time` of each run.
 * @returns ids of the kept runs.
 * @throws ServiceError when no rule is set (that would forget everything).
 */
export function keptRuns(runs: { id: string; time: Date }[], policy: KeepPolicy): Set<string> {
  if (!policy.keepLast && !policy.keepDaily && !policy.keepWeekly && !policy.keepMonthly) {
    throw new ServiceError("the retention policy has no keep rule, so it would forget every snapshot: set at least one of keep last/daily/weekly/monthly.");
  }
  const newest = [...runs].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
  const kept = new Set(newest.slice(0, policy.keepLast ?? 0).map((r) => r.id));
  for (const [rule, bucket] of BUCKETS) {
    let left = policy[rule] ?? 0;
    let last: string | undefined;
    for (const r of newest) {
      if (left <= 0) break;
      const key = bucket(r.time);
      if (key === last) continue;
      last = key;
      kept.add(r.id);
      left--;
    }
  }
  return kept;
}

/** A backup run in the engine: its data snapshot and every snapshot sharing its run tag. */
interface Run {
  id: string;
  time: Date;
  dataId: string;
  snapshotIds: string[];
}

function groupRuns(snaps: EngineSnapshot[]): Run[] {
  const byTag = new Map<string, EngineSnapshot[]>();
  for (const s of snaps) {
    const tag = runIdOf(s.tags);
    if (tag) byTag.set(tag, [...(byTag.get(tag) ?? []), s]);
  }
  const runs: Run[] = [];
  for (const [tag, group] of byTag) {
    const data = group.find((s) => s.tags.includes(DATA_TAG));
    // A run without its data snapshot is an unfinished ingest; ingest cleans those up itself.
    if (data) runs.push({ id: tag, time: data.time, dataId: data.id, snapshotIds: group.map((s) => s.id) });
  }
  return runs;
}

/** One backup run as retention judges it. */
export interface RetentionRun {
  /** The run's `qd-run:` tag. */
  run: string;
  /** When the engine stored its data snapshot. */
  time: Date;
  /** The engine's id of its data snapshot (what the snapshot lists show). */
  dataId: string;
  keep: boolean;
}

/** What {@link applyRetention} did, or (dry run) would do. */
export interface RetentionResult {
  keptRuns: number;
  /** Data snapshot ids of the runs forgotten (or, for a dry run, to forget). */
  forgotten: string[];
  /** Every run, newest first, with its verdict. */
  runs: RetentionRun[];
  /** Human-readable lines for the run log. */
  log: string[];
  /** True when nothing was forgotten because this was only a preview. */
  dryRun: boolean;
}

/** Options of {@link applyRetention}. */
export interface RetentionOptions {
  /** Only say what would be forgotten (the engine's listing is read, nothing is changed). */
  dryRun?: boolean;
  /**
   * The data snapshot ids a preview showed and the user confirmed: when the
   * runs to forget are not exactly these (a backup or a forget happened in
   * between), nothing is forgotten and a ServiceError says so.
   */
  confirmed?: string[];
}

/**
 * Applies `policy` to a registered repository: forgets (and prunes) every
 * backup run it does not keep, then removes those snapshots from the index.
 * With `dryRun`, reads the engine's listing and returns the same verdicts
 * without forgetting anything.
 * @throws ServiceError (unknown repository, empty policy, confirmed set out of date), EngineError
 *   ("append-only" at once, nothing listed or deleted, for an append-only repository).
 */
export async function applyRetention(db: Database, repository: string, policy: KeepPolicy, opts: RetentionOptions = {}): Promise<RetentionResult> {
  const repo = await getRepository(db, repository);
  // before the listing: the server would refuse the forget anyway, and a preview of what cannot be done misleads
  if (repo.appendOnly) throw appendOnlyRefusal(repo.engine as EngineKind, repo.location, "forget");
  const engine = engineFor(repo);
  const runs = groupRuns(await engine.snapshots({ tag: PROJECT_TAG }));
  const kept = keptRuns(runs, policy);
  const drop = runs.filter((r) => !kept.has(r.id));
  const verdicts = runs
    .sort((a, b) => b.time.getTime() - a.time.getTime())
    .map((r) => ({ run: r.id, time: r.time, dataId: r.dataId, keep: kept.has(r.id) }));
  const log = verdicts.map((r) => `${r.keep ? "keep  " : "forget"} ${r.time.toISOString()} ${r.dataId.slice(0, 12)}`);
  const forgotten = drop.map((r) => r.dataId);
  if (opts.confirmed && [...opts.confirmed].sort().join(" ") !== [...forgotten].sort().join(" ")) {
    throw new ServiceError(
      `the snapshots to forget changed since the preview (it showed ${opts.confirmed.length}, the policy now forgets ${forgotten.length}): nothing was forgotten, preview again and confirm.`,
    );
  }
  if (drop.length > 0 && !opts.dryRun) {
    await engine.forget(drop.flatMap((r) => r.snapshotIds));
    await db.prisma.snapshot.deleteMany({ where: { repositoryId: repo.id, engineSnapshotId: { in: forgotten } } });
  }
  return { keptRuns: kept.size, forgotten, runs: verdicts, log, dryRun: opts.dryRun === true };
}

/**
 * What the repository's stored policy would forget now: a dry run through
 * the engine (its own snapshot listing, not the index).
 * @throws ServiceError when the repository has no policy or is unknown, EngineError.
 */
export async function previewRetention(db: Database, repository: string): Promise<RetentionResult & { policy: KeepPolicy }> {
  const repo = await getRepository(db, repository);
  const policy = await getRetention(db, repo.id);
  if (!policy) throw new ServiceError(`repository "${repository}" has no retention policy: set one on the Schedules page (or with "qubes-dedup retention set").`);
  return { ...(await applyRetention(db, repository, policy, { dryRun: true })), policy };
}

/** Keep rules of the retention policy (0 = unused), each at most 10000. */
export const retentionInput = z.object({
  repositoryId: z.number().int().positive(),
  keepLast: z.number().int().min(0).max(10000),
  keepDaily: z.number().int().min(0).max(10000),
  keepWeekly: z.number().int().min(0).max(10000),
  keepMonthly: z.number().int().min(0).max(10000),
});
export type RetentionInput = z.infer<typeof retentionInput>;

/** A repository's policy, or null when none is set. */
export async function getRetention(db: Database, repositoryId: number) {
  return db.prisma.retentionPolicy.findUnique({ where: { repositoryId } });
}

/** Sets a repository's policy. @throws Error when every rule is 0 (that would keep nothing). */
export async function setRetention(db: Database, input: RetentionInput) {
  const { repositoryId, ...rules } = input;
  if (Object.values(rules).every((n) => n === 0)) {
    throw new Error("A retention policy needs at least one keep rule above 0, or it would forget every snapshot: set keep last, daily, weekly or monthly.");
  }
  return db.prisma.retentionPolicy.upsert({ where: { repositoryId }, create: input, update: rules });
}
