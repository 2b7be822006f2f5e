/**
 * `restore --point latest|BACKUP-ID|TIME [QUBE...]`: restores a restore
 * point (ledger/point.ts) from dom0's ledger, one qvm-backup-restore run
 * per backup involved, in dependency order. The dom0 user typed the
 * command, so the plan is printed, not asked.
 */
import { RESTORE_POINT_RE } from "@qubes-dedup/protocol";
import { UsageError } from "./args.ts";
import { checkCliNames, passphraseOf, type RestoreOptions } from "./commands.ts";
import { loadConfig } from "./config.ts";
import { planPointRestore, runPointRestore } from "./ledger/point-restore.ts";
import { notifyEnd } from "./notify.ts";
import { checkPassphraseFile, finishedLine, runWithShim } from "./runs.ts";
import { shimDirForRuns } from "./shim-path.ts";

/** Runs `restore --point`; resolves to the exit status (0, or the failed run's, or 1). */
export async function restorePoint(which: string, qubes: string[], o: RestoreOptions): Promise<number> {
  if (!RESTORE_POINT_RE.test(which)) throw new UsageError(`restore point "${which.slice(0, 40)}" is not valid; use latest, a backup-id (YYYYmmddTHHMMSS-<pid>) or a UTC time such as 2026-12-02T10:00:00Z`);
  if (o.verifyOnly || o.paranoidMode || o.backupId !== undefined || o.exclude.length) throw new UsageError("--point restores whole qubes from dom0's ledger; it takes no --verify-only, --paranoid-mode, --backup-id or --exclude (name the qubes to restore instead)");
  checkCliNames(o, qubes);
  const cfg = loadConfig(o.root);
  const passphraseFile = passphraseOf(o, cfg.passphraseFile);
  checkPassphraseFile(passphraseFile);
  const repo = o.repo ?? cfg.repo;
  const say = (l: string) => process.stderr.write(`qubes-dedup-agent: ${l}\n`);
  const plan = planPointRestore(o.root, which, qubes, repo, "tell");
  for (const l of plan.confirmation.split("\n")) say(l);
  const shimDir = shimDirForRuns(o.root);
  const out = await runPointRestore(o.root, plan, {
    sourceVm: o.destVm ?? cfg.destVm,
    passphraseFile,
    repo,
    conflicts: o.renameConflicting ? "rename" : o.skipConflicting ? "skip" : undefined,
    env: process.env,
    say,
    tool: async (args, extraEnv) => {
      const r = await runWithShim("qvm-backup-restore", args, shimDir, extraEnv, true);
      return { exitCode: r.exitCode, reason: finishedLine("restore", "qvm-backup-restore", r).replace(/^restore failed: /, ""), stdoutLines: r.stdoutLines ?? [] };
    },
  });
  say(out.text);
  await notifyEnd({ what: "restore", ok: out.ok, text: out.text }, cfg.notifySuccess, process.env, o.root);
  return out.exitCode;
}
