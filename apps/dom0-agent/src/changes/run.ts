/**
 * The change record as the backup paths (`backup`, `rpc backup`) use it:
 * one call before qvm-backup, one after the ledger recorded the backup.
 */
import { planChanges, recordChanges, type ChangePlan, type ChangeRequest } from "./plan.ts";

/** The environment variable that sets the change rules' clock (ISO 8601), for trying out `fullEveryDays`. */
export const CLOCK_ENV = "QUBES_DEDUP_NOW";

/**
 * The time the change rules take as now: `$QUBES_DEDUP_NOW` when set,
 * else the system clock.
 * @throws Error for a value that is not a date.
 */
export function changeClock(env: NodeJS.ProcessEnv): Date {
  const v = env[CLOCK_ENV];
  if (!v) return new Date();
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`${CLOCK_ENV}="${v}" is not a date; unset it or give an ISO 8601 time.`);
  return new Date(t);
}

/** One run's plan, its "nothing changed" line, and the step after the ledger. */
export interface ChangedRun {
  plan: ChangePlan;
  /** What to say when nothing changed (qvm-backup is not run). */
  nothingLine: string;
  /**
   * After qvm-backup exited 0: writes the record for the ledger's `recorded`
   * backup (undefined: not in the ledger). Returns the line to log, if any.
   */
  after(recorded: { backupId: string; qubes: { name: string }[] } | undefined): string | undefined;
}

/** Plans a backup run (planChanges) and prepares its recording step. */
export async function changedBackupRun(root: string, r: ChangeRequest): Promise<ChangedRun> {
  const plan = await planChanges(root, r);
  return {
    plan,
    nothingLine: "nothing changed since the last backup of these qubes; qvm-backup was not run.",
    after(recorded) {
      // A plain backup keeps quiet about the record unless it could not be written for a backup the ledger has.
      if (!r.changed && (!recorded || !plan.observation)) return undefined;
      const warning = recordChanges(root, plan, recorded?.backupId, recorded?.qubes.map((q) => q.name) ?? [], r.now);
      if (warning) return `warning: ${warning}`;
      return r.changed ? `dom0's change record: backup ${recorded!.backupId} holds the current data of ${recorded!.qubes.map((q) => q.name).join(", ")}` : undefined;
    },
  };
}
