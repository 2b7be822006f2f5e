/**
 * `rpc restore` through dom0's ledger: the backup and its qubes come from
 * the ledger, a restore (not a verification) is confirmed in a dom0 dialog
 * that shows the ledger's account, the shim checks every chunk, and the
 * reply names the qube and the file when anything is missing or altered.
 */
import type { RestoreRequest, Reply } from "@qubes-dedup/protocol";
import { LedgerRefusal } from "../ledger/choose.ts";
import { DialogError, confirmInDom0 } from "../ledger/dialog.ts";
import { LedgerError } from "../ledger/record.ts";
import { beginRun, judgeRun, paranoidRestore, prepareRestore, removeIncomplete, runListingQubes, type LedgerRestore } from "../ledger/restore.ts";
import { restoreArgs, sendOnly } from "../runs.ts";
import type { Plan, RpcIo } from "./handler.ts";
import { runTool } from "./run-tool.ts";
import { notifyEnd } from "../notify.ts";

async function prepare(root: string, plan: Plan, req: RestoreRequest, io: RpcIo): Promise<LedgerRestore | Reply> {
  try {
    const wish = { ...(req.backupId ? { backupId: req.backupId } : {}), qubes: req.qubes, exclude: [] };
    return await prepareRestore(root, wish, { repo: plan.repo, snapshot: req.snapshot, conflicts: req.conflicts, env: io.env });
  } catch (e) {
    if (e instanceof LedgerRefusal) return { kind: "refused", reason: e.message };
    if (e instanceof LedgerError) return { kind: "failed", reason: e.message };
    throw e;
  }
}

async function confirmed(prepared: LedgerRestore, io: RpcIo): Promise<Reply | undefined> {
  try {
    if (await confirmInDom0(prepared.confirmation, io.env)) return undefined;
    return { kind: "refused", reason: "the restore was declined in dom0's confirmation dialog; nothing was restored." };
  } catch (e) {
    if (e instanceof DialogError) return { kind: "failed", reason: e.message };
    throw e;
  }
}

/** Handles a checked restore request; returns the exit status (0 ok, 2 refused, else the tool's or 1). */
export async function handleRestore(root: string, plan: Plan, req: RestoreRequest, shimDir: string, io: RpcIo, write: (r: Reply) => void): Promise<number> {
  const chosen = await prepare(root, plan, req, io);
  if ("kind" in chosen) return write(chosen), chosen.kind === "refused" ? 2 : 1;
  const prepared = req.paranoid ? paranoidRestore(chosen) : chosen;
  if (!req.verifyOnly) {
    const no = await confirmed(prepared, io);
    if (no) return write(no), no.kind === "refused" ? 2 : 1;
  }
  const args = restoreArgs({ snapshot: req.snapshot, sourceVm: plan.destVm, passphraseFile: plan.passphraseFile, repo: plan.repo, verifyOnly: req.verifyOnly, paranoid: req.paranoid, conflicts: req.conflicts, exclude: prepared.skipped, qubes: req.qubes, dumpQubes: sendOnly(req.qubes) });
  const { run, env } = beginRun(root, prepared);
  try {
    const r = await runListingQubes(prepared, req.verifyOnly, io.env, () => runTool("qvm-backup-restore", args, shimDir, { ...io.env, ...env }, io.stdout));
    const v = judgeRun(prepared.plan, run, r);
    const removed = v.ok || req.verifyOnly ? [] : await removeIncomplete(v.incomplete, io.env);
    const what = req.verifyOnly ? "verify" : "restore";
    if (v.ok) {
      const checked = prepared.plan && !prepared.plan.legacy ? `; every chunk dom0's ledger lists for backup ${prepared.plan.backupId} arrived intact and in order` : `; warning: ${prepared.choice.warning ?? "not checked against dom0's ledger"}`;
      const summary = `${plan.summary(r.stdoutLines)}${checked}`;
      await notifyEnd({ what, ok: true, text: summary }, plan.notifySuccess === true, io.env);
      if (r.callerGone) return 1;
      write({ kind: "ok", summary });
      return 0;
    }
    const reason = `${[(v.reason ?? r.reason).replace(/\.$/, ""), ...removed].join("; ")}.`;
    await notifyEnd({ what, ok: false, text: reason }, plan.notifySuccess === true, io.env);
    if (r.callerGone) return 1;
    write({ kind: "failed", reason });
    return r.exitCode || 1;
  } finally {
    run?.remove();
  }
}
