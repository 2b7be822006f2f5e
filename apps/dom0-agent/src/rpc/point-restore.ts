/**
 * `rpc restore` of a restore point (`{"point": …}`): dom0 plans it from its
 * own ledger (ledger/point.ts; the request names only the point and the
 * qubes), asks once in a dom0 dialog listing every qube and the date of its
 * data, then runs qvm-backup-restore once per backup involved. Each run's
 * start is a `note` line; `progress` lines restart at 0 for every run.
 */
import { formatNote, type Reply, type RestorePointRequest } from "@qubes-dedup/protocol";
import { LedgerRefusal } from "../ledger/choose.ts";
import { DialogError, confirmInDom0 } from "../ledger/dialog.ts";
import { planPointRestore, runPointRestore, type PointRestore } from "../ledger/point-restore.ts";
import { LedgerError } from "../ledger/record.ts";
import { notifyEnd } from "../notify.ts";
import type { Plan, RpcIo } from "./handler.ts";
import { runTool } from "./run-tool.ts";

function planned(root: string, req: RestorePointRequest, repo: string | undefined): PointRestore | Reply {
  try {
    return planPointRestore(root, req.point, req.qubes, repo);
  } catch (e) {
    if (e instanceof LedgerRefusal) return { kind: "refused", reason: e.message };
    if (e instanceof LedgerError) return { kind: "failed", reason: e.message };
    throw e;
  }
}

async function declined(text: string, io: RpcIo): Promise<Reply | undefined> {
  try {
    if (await confirmInDom0(text, io.env)) return undefined;
    return { kind: "refused", reason: "the restore was declined in dom0's confirmation dialog; nothing was restored." };
  } catch (e) {
    if (e instanceof DialogError) return { kind: "failed", reason: e.message };
    throw e;
  }
}

/** Handles a checked restore-point request; returns the exit status (0 ok, 2 refused, else the failed run's or 1). */
export async function handlePointRestore(root: string, plan: Plan, req: RestorePointRequest, shimDir: string, io: RpcIo, write: (r: Reply) => void): Promise<number> {
  const p = planned(root, req, plan.repo);
  if ("kind" in p) return write(p), p.kind === "refused" ? 2 : 1;
  const no = await declined(p.confirmation, io);
  if (no) return write(no), no.kind === "refused" ? 2 : 1;
  const note = (l: string) => {
    if (!io.stdout.destroyed && io.stdout.writable) io.stdout.write(`${formatNote(l)}\n`);
  };
  for (const l of p.confirmation.split("\n").slice(1)) note(l.trim());
  const out = await runPointRestore(root, p, {
    sourceVm: plan.destVm,
    passphraseFile: plan.passphraseFile,
    repo: plan.repo,
    conflicts: req.conflicts,
    env: io.env,
    say: note,
    tool: (args, extraEnv) => runTool("qvm-backup-restore", args, shimDir, { ...io.env, ...extraEnv }, io.stdout),
  });
  await notifyEnd({ what: "restore", ok: out.ok, text: out.text }, plan.notifySuccess === true, io.env);
  if (out.callerGone) return 1;
  write(out.ok ? { kind: "ok", summary: out.text } : { kind: "failed", reason: out.text });
  return out.exitCode;
}
