/**
 * Restoring a restore point (ledger/point.ts), for the `restore --point`
 * command and the qrexec handler alike: dom0 builds the plan from its own
 * ledger (which backups, which qubes, in which order), confirms it once,
 * then runs qvm-backup-restore once per backup, each run checked chunk by
 * chunk against the ledger like any restore (ledger/restore.ts). The
 * snapshot of each run is named by its backup-id, which the backup qube's
 * `dump` resolves; the shim refuses a stream that carries another one.
 * A failed run stops the plan: the reply names the qubes restored and the
 * ones that were not.
 */
import { restoreArgs, sendOnly } from "../runs.ts";
import { pointConfirmation, pointQubes, pointRuns, restorePointAt, type PointRun, type RestorePoint } from "./point.ts";
import { beginRun, judgeRun, prepareRestore, removeIncomplete, runListingQubes, type LedgerRestore } from "./restore.ts";
import { readLedger } from "./store.ts";

/** A point's restore, planned and not yet confirmed. */
export interface PointRestore {
  point: RestorePoint;
  runs: PointRun[];
  /** The one confirmation text for the whole plan. */
  confirmation: string;
}

/** How one run of qvm-backup-restore ended (the CLI's and the handler's runners both give this). */
export interface PointToolRun {
  exitCode: number;
  reason: string;
  stdoutLines: string[];
  /** The qrexec caller went away: stop, write nothing more. */
  callerGone?: boolean;
}

/** What the runs need besides the plan. */
export interface PointRunOptions {
  sourceVm: string;
  passphraseFile: string;
  repo?: string;
  conflicts?: "rename" | "skip";
  env: NodeJS.ProcessEnv;
  /** Runs qvm-backup-restore with `args` and the run's extra environment. */
  tool: (args: string[], extraEnv: NodeJS.ProcessEnv) => Promise<PointToolRun>;
  /** One line of progress for the user (the CLI's stderr, the handler's notes). */
  say: (line: string) => void;
}

/** How a point's restore ended. */
export interface PointOutcome {
  ok: boolean;
  /** Qubes restored (ledger names; `a as b` when renamed), in order. */
  restored: string[];
  /** Planned qubes that were not restored. */
  notRestored: string[];
  /** One sentence: the summary, or the failure with what was and was not restored. */
  text: string;
  exitCode: number;
  callerGone?: boolean;
}

/**
 * Plans the restore of point `which` (latest, a backup-id, an ISO time) for
 * `qubes` (all of the point when empty) from dom0's ledger under `root`.
 * @throws LedgerRefusal (or LedgerError for a damaged ledger file).
 */
export function planPointRestore(root: string, which: string, qubes: string[], repo: string | undefined, mode: "ask" | "tell" = "ask"): PointRestore {
  const point = restorePointAt(readLedger(root), which);
  const chosen = pointQubes(point, qubes);
  const runs = pointRuns(chosen);
  return { point, runs, confirmation: pointConfirmation(point, runs, chosen, repo, mode) };
}

const restoredNames = (created: { name: string; as: string }[]) => created.map((c) => (c.as === c.name ? c.name : `${c.name} as ${c.as}`));

/** Runs one planned run; returns the qubes it restored or the failure. */
async function oneRun(root: string, run: PointRun, o: PointRunOptions): Promise<{ ok: true; restored: string[] } | { ok: false; reason: string; removed: string[]; exitCode: number; callerGone?: boolean }> {
  const prepared: LedgerRestore = await prepareRestore(root, { backupId: run.backupId, qubes: run.qubes, exclude: [] }, { repo: o.repo, snapshot: run.backupId, conflicts: o.conflicts, env: o.env });
  const args = restoreArgs({ snapshot: run.backupId, sourceVm: o.sourceVm, passphraseFile: o.passphraseFile, repo: o.repo, verifyOnly: false, conflicts: o.conflicts, exclude: prepared.skipped, qubes: run.qubes, dumpQubes: sendOnly(run.qubes) });
  const { run: dir, env } = beginRun(root, prepared);
  try {
    const r = await runListingQubes(prepared, false, o.env, () => o.tool(args, env));
    const v = judgeRun(prepared.plan, dir, r);
    if (v.ok) return { ok: true, restored: r.created ? restoredNames(r.created) : v.complete };
    const removed = await removeIncomplete(v.incomplete, o.env);
    return { ok: false, reason: (v.reason ?? r.reason).replace(/\.$/, ""), removed, exitCode: r.exitCode || 1, callerGone: r.callerGone };
  } finally {
    dir?.remove();
  }
}

/**
 * Runs a confirmed plan, run after run; stops at the first failure.
 * Never throws for a failed run (it is the outcome); a refusal of a run by
 * the ledger (LedgerRefusal) also ends the plan as a failure.
 */
export async function runPointRestore(root: string, plan: PointRestore, o: PointRunOptions): Promise<PointOutcome> {
  const restored: string[] = [];
  const all = plan.runs.flatMap((r) => r.qubes);
  for (const [i, run] of plan.runs.entries()) {
    o.say(`run ${i + 1} of ${plan.runs.length}: ${run.qubes.join(", ")} from backup ${run.backupId}`);
    let r;
    try {
      r = await oneRun(root, run, o);
    } catch (e) {
      r = { ok: false as const, reason: (e as Error).message.replace(/\.$/, ""), removed: [], exitCode: 1 };
    }
    if (r.ok) {
      restored.push(...r.restored);
      continue;
    }
    const done = new Set(restored.map((n) => n.split(" as ")[0]));
    const notRestored = all.filter((q) => !done.has(q));
    const text = `restore of point ${plan.point.backupId} stopped at run ${i + 1} of ${plan.runs.length} (backup ${run.backupId}): ${[r.reason, ...r.removed].join("; ")}; restored: ${restored.length ? restored.join(", ") : "none"}; not restored: ${notRestored.join(", ")}; restore those again once the cause is fixed.`;
    return { ok: false, restored, notRestored, text, exitCode: r.exitCode, callerGone: r.callerGone };
  }
  const text = `restored ${restored.length} qube(s) of restore point ${plan.point.backupId}: ${restored.join(", ")}, in ${plan.runs.length} run(s); every chunk dom0's ledger lists for them arrived intact and in order`;
  return { ok: true, restored, notRestored: [], text, exitCode: 0 };
}
