/**
 * The change record around one backup run (`backup`, `backup --changed`,
 * `rpc backup` with `"changed": true`): before qvm-backup, read the signals
 * and, for `--changed`, choose the qubes; after a backup that qvm-backup
 * finished and dom0's ledger recorded, write the record. See
 * docs/ARCHITECTURE.md "Backups of the changed qubes only".
 */
import { decide, goneLines } from "./decide.ts";
import { ObserveError, observe, type Observation } from "./observe.ts";
import { ChangeRecordError, afterBackup, readChangeRecord, writeChangeRecord } from "./record.ts";

/** What a run asks for. */
export interface ChangeRequest {
  /** QUBE... as given (empty: every qube qvm-backup selects). */
  qubes: string[];
  exclude: string[];
  /** `--changed`: send only the qubes that changed. */
  changed: boolean;
  /** `--full`: send every selected qube and count as a full backup. */
  forceFull: boolean;
  fullEveryDays: number;
  now: Date;
  /** Environment of lvs and qvm-ls. */
  env: NodeJS.ProcessEnv;
}

/** What to run, what to say, and what to record afterwards. */
export interface ChangePlan {
  /** qvm-backup's qube operands and excludes. */
  qubes: string[];
  exclude: string[];
  /** Nothing changed: qvm-backup is not run. */
  nothingToDo: boolean;
  /** Job-log lines, one per selected qube ("work: changed: …"), then any gone ones. */
  lines: string[];
  /** The signals read before the run; absent when they could not be read. */
  observation?: Observation;
  /** Why the record cannot be updated after this run, when it cannot. */
  unrecordable?: string;
}

/**
 * Plans the run. Never throws for what it cannot read: a `--changed` run
 * that cannot read qubes.xml or the record sends every selected qube and
 * says why.
 */
export async function planChanges(root: string, r: ChangeRequest): Promise<ChangePlan> {
  const unfiltered = { qubes: r.qubes, exclude: r.exclude, nothingToDo: false };
  let observation: Observation;
  let record;
  try {
    observation = await observe(root, r.qubes, r.exclude, r.env);
    record = readChangeRecord(root);
  } catch (e) {
    if (!(e instanceof ObserveError || e instanceof ChangeRecordError)) throw e;
    const why = e.message.replace(/\.$/, "");
    const lines = r.changed ? [`cannot tell which qubes changed: ${why}; every selected qube is backed up`] : [];
    return { ...unfiltered, lines, unrecordable: why };
  }
  if (!r.changed) return { ...unfiltered, lines: [], observation };
  const d = decide({ record, selected: observation.selected, now: r.now, fullEveryDays: r.fullEveryDays, forceFull: r.forceFull }, observation.liveNames);
  const lines = [...d.verdicts.map((v) => `${v.qube}: ${v.reason}`), ...goneLines(record, observation.liveNames)];
  const chosen = d.verdicts.filter((v) => v.backup).map((v) => v.qube);
  if (chosen.length === 0) return { qubes: [], exclude: [], nothingToDo: true, lines, observation };
  const everything = chosen.length === d.verdicts.length && r.qubes.length === 0;
  // Every selected qube: the same qvm-backup call as without --changed (dom0 included as qvm-backup includes it).
  if (everything) return { qubes: [], exclude: r.exclude, nothingToDo: false, lines, observation };
  return { qubes: chosen, exclude: [], nothingToDo: false, lines, observation };
}

/**
 * After qvm-backup exited 0 and the ledger recorded backup `backupId` with
 * the qubes `inBackup`: writes the record.
 * @returns a warning, or undefined when the record was written.
 */
export function recordChanges(root: string, plan: ChangePlan, backupId: string | undefined, inBackup: string[], time: Date): string | undefined {
  if (!plan.observation || plan.unrecordable) return `dom0's change record is not updated (${plan.unrecordable ?? "no signals were read"}), so the next --changed backup sends these qubes again.`;
  if (!backupId) return "dom0's change record is not updated because the ledger did not record this backup, so the next --changed backup sends these qubes again.";
  try {
    writeChangeRecord(root, afterBackup(readChangeRecord(root), new Map(plan.observation.selected.flatMap((s) => ("unknown" in s.observed ? [] : [[s.name, s.observed] as const]))), inBackup, backupId, time));
    return undefined;
  } catch (e) {
    return `dom0's change record could not be written (${(e as Error).message}), so the next --changed backup sends these qubes again.`;
  }
}
