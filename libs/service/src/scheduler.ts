/**
 * The scheduler loop of a long-running process (the dashboard server starts it
 * from instrumentation.ts; any process holding the index db may):
 * every {@link TICK_SECONDS} it starts each enabled schedule whose cron time
 * has come since its last run. Missed times while the server was down run
 * once, not once per missed time. Runs of one schedule never overlap.
 * Scheduled backups ask dom0 for the changed qubes only (`"changed": true`;
 * dom0 still sends every selected qube when its full backup is due), or for
 * every selected qube when the schedule says `fullBackup`.
 */
import type { Database } from "@qubes-dedup/db";
import { runMaintenance } from "./maintenance.ts";
import { previousRun, type ScheduleKind } from "./schedules.ts";

/** Seconds between two looks at the schedules. */
export const TICK_SECONDS = 30;

const key = Symbol.for("qubes-dedup.web.scheduler");
type State = { timer?: NodeJS.Timeout; running: Map<number, Promise<unknown>> };
function state(): State {
  const g = globalThis as { [key]?: State };
  g[key] ??= { running: new Map() };
  return g[key];
}

/**
 * One look at the schedules at time `now`: starts the due ones (without
 * waiting for them) and returns their ids. `lastRunAt` is set before the run
 * starts, so a crash never repeats it in a loop.
 */
export async function tick(db: Database, now: Date = new Date()): Promise<number[]> {
  const s = state();
  const started: number[] = [];
  for (const sch of await db.prisma.schedule.findMany({ where: { enabled: true } })) {
    if (s.running.has(sch.id)) continue;
    const due = previousRun(sch.cron, now);
    if (due <= (sch.lastRunAt ?? sch.createdAt)) continue;
    await db.prisma.schedule.update({ where: { id: sch.id }, data: { lastRunAt: now } });
    const run = runMaintenance(db, {
      repositoryId: sch.repositoryId,
      kind: sch.kind as ScheduleKind,
      scheduleId: sch.id,
      qubes: JSON.parse(sch.qubes) as string[],
      readDataSubset: sch.readDataSubset,
      fullBackup: sch.fullBackup,
    })
      .catch((e: unknown) => console.error(`qubes-dedup scheduler: schedule ${sch.id} failed to start: ${(e as Error).message}`))
      .finally(() => s.running.delete(sch.id));
    s.running.set(sch.id, run);
    started.push(sch.id);
  }
  return started;
}

/** Resolves when every run started by {@link tick} has ended (tests, shutdown). */
export async function idle(): Promise<void> {
  await Promise.all(state().running.values());
}

/** Starts the loop once per process; `open` gives the index db. */
export function startScheduler(open: () => Promise<Database>): void {
  const s = state();
  if (s.timer) return;
  const loop = async () => {
    try {
      await tick(await open());
    } catch (e) {
      console.error(`qubes-dedup scheduler: ${(e as Error).message}`);
    }
  };
  s.timer = setInterval(() => void loop(), TICK_SECONDS * 1000);
  s.timer.unref();
  void loop();
}
