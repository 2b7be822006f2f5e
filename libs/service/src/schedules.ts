/**
 * Schedules (cron, UTC) of maintenance tasks, as the dashboard reads and
 * edits them; scheduler.ts runs them.
 */
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import type { Database } from "@qubes-dedup/db";
import { qubeNameSchema } from "./request-inputs.ts";

/** What a schedule does; see the Schedule model in prisma/schema.prisma. */
export const SCHEDULE_KINDS = ["backup", "retention", "check", "drill"] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** How many upcoming runs a schedule view lists. */
export const NEXT_RUNS = 3;

/**
 * The next `count` times a five-field cron expression fires after `from`, UTC.
 * @throws Error (one sentence) for an invalid expression.
 */
export function nextRuns(cron: string, from: Date, count = NEXT_RUNS): Date[] {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`"${cron}" is not a cron expression: give five fields (minute hour day month weekday), e.g. "0 3 * * *".`);
  let expr;
  try {
    expr = CronExpressionParser.parse(cron, { tz: "UTC", currentDate: from });
  } catch (e) {
    throw new Error(`"${cron}" is not a valid cron expression (${(e as Error).message}): fix it, e.g. "0 3 * * *".`);
  }
  return Array.from({ length: count }, () => expr.next().toDate());
}

/** The latest time at or before `now` that `cron` fired, UTC. */
export function previousRun(cron: string, now: Date): Date {
  return CronExpressionParser.parse(cron, { tz: "UTC", currentDate: new Date(now.getTime() + 1) }).prev().toDate();
}

/**
 * restic's --read-data-subset forms: a percentage above 0 up to 100 ("5%")
 * or a fraction n/t with 1 <= n <= t ("1/10"), the ranges restic 0.14 accepts.
 */
export const readDataSubsetSchema = z
  .string()
  .regex(/^(\d{1,3}(\.\d+)?%|\d+\/\d+)$/, 'give a percentage like "5%" or a fraction like "1/10"')
  .superRefine((v, ctx) => {
    const pct = /^(.*)%$/.exec(v);
    if (pct && !(Number(pct[1]) > 0 && Number(pct[1]) <= 100)) ctx.addIssue({ code: "custom", message: `"${v}" is not a share of the data: give a percentage above 0% and at most 100%, like "5%"` });
    const frac = /^(\d+)\/(\d+)$/.exec(v);
    if (frac && !(Number(frac[1]) >= 1 && Number(frac[1]) <= Number(frac[2]))) ctx.addIssue({ code: "custom", message: `"${v}" is not a part of the data: give n/t with n from 1 to t, like "1/10"` });
  });

/** Shortest time between two runs of a schedule, in seconds: a backup, check or drill takes minutes, and runs must not pile up. */
export const MIN_SCHEDULE_INTERVAL_S = 3600;

/**
 * The shortest gap between the next runs of `cron` (over the next 100), in seconds.
 * @throws Error (one sentence) for an invalid expression.
 */
export function shortestInterval(cron: string, from = new Date()): number {
  const runs = nextRuns(cron, from, 100);
  let least = Infinity;
  for (let i = 1; i < runs.length; i++) least = Math.min(least, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000);
  return least;
}

/** Input of `schedules.create`. */
export const scheduleInput = z
  .object({
    repositoryId: z.number().int().positive(),
    kind: z.enum(SCHEDULE_KINDS),
    cron: z.string().min(1).max(100),
    qubes: z.array(qubeNameSchema).max(100).default([]),
    readDataSubset: readDataSubsetSchema.optional(),
    /** For "backup": a full backup of every selected qube each time, instead of only the changed ones. */
    fullBackup: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    let gap: number;
    try {
      gap = shortestInterval(v.cron);
    } catch (e) {
      ctx.addIssue({ code: "custom", path: ["cron"], message: (e as Error).message.replace(/[.]$/, "") });
      return;
    }
    if (gap < MIN_SCHEDULE_INTERVAL_S)
      ctx.addIssue({ code: "custom", path: ["cron"], message: `"${v.cron}" runs every ${gap / 60} minute${gap === 60 ? "" : "s"}, more often than once an hour: a ${v.kind} run takes minutes, so give at most one run an hour, e.g. "0 3 * * *"` });
  });
export type ScheduleInput = z.infer<typeof scheduleInput>;

/** A schedule as the page shows it, with its next runs and last run outcome. */
export interface ScheduleView {
  id: number;
  repositoryId: number;
  repository: string;
  kind: ScheduleKind;
  cron: string;
  qubes: string[];
  readDataSubset: string | null;
  /** "backup" only: every selected qube each time (else only those dom0 finds changed). */
  fullBackup: boolean;
  enabled: boolean;
  lastRunAt: Date | null;
  nextRuns: Date[];
}

/** Every schedule, by id, with its next runs after `now`. */
export async function listSchedules(db: Database, now: Date = new Date()): Promise<ScheduleView[]> {
  const rows = await db.prisma.schedule.findMany({ orderBy: { id: "asc" }, include: { repository: { select: { name: true } } } });
  return rows.map((s) => ({
    id: s.id,
    repositoryId: s.repositoryId,
    repository: s.repository.name,
    kind: s.kind as ScheduleKind,
    cron: s.cron,
    qubes: JSON.parse(s.qubes) as string[],
    readDataSubset: s.readDataSubset,
    fullBackup: s.fullBackup,
    enabled: s.enabled,
    lastRunAt: s.lastRunAt,
    nextRuns: s.enabled ? nextRuns(s.cron, now) : [],
  }));
}

/** Creates a schedule. @throws Error when the repository does not exist. */
export async function createSchedule(db: Database, input: ScheduleInput): Promise<{ id: number }> {
  if (!(await db.prisma.repository.findUnique({ where: { id: input.repositoryId } }))) {
    throw new Error(`There is no repository ${input.repositoryId}: reload the page.`);
  }
  const s = await db.prisma.schedule.create({
    data: {
      repositoryId: input.repositoryId,
      kind: input.kind,
      cron: input.cron.trim(),
      qubes: JSON.stringify(input.qubes),
      readDataSubset: input.kind === "check" ? (input.readDataSubset ?? null) : null,
      fullBackup: input.kind === "backup" && input.fullBackup,
    },
  });
  return { id: s.id };
}

/** The soonest upcoming scheduled backup of a repository, or null. */
export async function nextScheduledBackup(db: Database, repositoryId: number, now: Date = new Date()): Promise<Date | null> {
  const rows = await db.prisma.schedule.findMany({ where: { repositoryId, kind: "backup", enabled: true } });
  const times = rows.map((s) => nextRuns(s.cron, now, 1)[0]!.getTime());
  return times.length ? new Date(Math.min(...times)) : null;
}

/** Pauses or resumes a schedule. @returns whether it is now enabled. @throws when there is no such schedule. */
export async function setScheduleEnabled(db: Database, id: number, enabled: boolean): Promise<boolean> {
  return (await db.prisma.schedule.update({ where: { id }, data: { enabled } })).enabled;
}

/** Deletes a schedule; its past runs stay in the log. @throws when there is no such schedule. */
export async function removeSchedule(db: Database, id: number): Promise<void> {
  await db.prisma.schedule.delete({ where: { id } });
}
