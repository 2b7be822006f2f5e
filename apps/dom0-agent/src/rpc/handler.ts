/**
 * `qubes-dedup-agent rpc backup|restore`: what /etc/qubes-rpc/qubes.DedupBackup
 * and qubes.DedupRestore run in dom0. The caller is `$QREXEC_REMOTE_DOMAIN`
 * and must be the configured backup qube; its one-line request is checked
 * (@qubes-dedup/protocol's request grammar), then qvm-backup / qvm-backup-restore run exactly as the
 * `backup` / `restore` commands run them (runs.ts: fixed words, validated
 * names, the shim first on PATH).
 *
 * Reply lines on stdout (@qubes-dedup/protocol reply.ts), one line each:
 * - `error: <reason>`: refused before anything ran (exit 2);
 * - `progress <percent>`: the run started (0.00) and advances (qvm-backup);
 * - `note <text>`: job-log lines of a backup (with `"changed": true`, one per
 *   qube with its reason; changes/) and of a restore point's runs;
 * - `ok <summary>` (exit 0) or `error <reason>` (exit = the tool's status, or 1).
 */
import type { Readable, Writable } from "node:stream";
import { loadConfig, underRoot } from "../config.ts";
import { backupArgs, checkPassphraseFile, restoreArgs, sendOnly } from "../runs.ts";
import { shimDirForRuns } from "../shim-path.ts";
import {
  RequestError,
  formatNote,
  formatReply,
  isRestorePointRequest,
  oneLine,
  parseBackupRequest,
  parseRestorePointRequest,
  parseRestoreRequest,
  type BackupRequest,
  type Reply,
  type RestorePointRequest,
  type RestoreRequest,
} from "@qubes-dedup/protocol";
import { handlePointRestore } from "./point-restore.ts";
import { changeClock, changedBackupRun } from "../changes/run.ts";
import { recordBackup, removeSpoolsSince, stateEnv } from "../ledger/store.ts";
import { handleRestore } from "./restore.ts";
import { notifyEnd } from "../notify.ts";
import { pushAfterBackup } from "../ledger/sync.ts";
import { ValidationError, qubeName } from "../validate.ts";
import { readRequestBytes } from "./read.ts";
import { restoreOutcome } from "./progress.ts";
import { runTool, type ToolRun } from "./run-tool.ts";

/** The streams and environment of one handler run (process.* by default). */
export interface RpcIo {
  stdin: Readable;
  stdout: Writable;
  env: NodeJS.ProcessEnv;
}

/** What a prepared run needs: program, argv and how to summarise success. */
export interface Plan {
  program: "qvm-backup" | "qvm-backup-restore";
  args: string[];
  passphraseFile: string;
  summary: (stdoutLines: string[]) => string;
  /** The checked restore request (restores only). */
  request?: RestoreRequest;
  /** The checked restore-point request (restores of a point only). */
  pointRequest?: RestorePointRequest;
  /** The checked backup request (backups only). */
  backupRequest?: BackupRequest;
  /** The backup qube (`-d`), the repository. */
  destVm: string;
  repo?: string;
  /** Notify successful runs too (agent.json). */
  notifySuccess?: boolean;
}

/** Refusal before anything ran: `error: <reason>`, exit 2. */
class Refusal extends Error {}
/** dom0-side failure before anything ran: `error <reason>`, exit 1. */
class Dom0Failure extends Error {}

function callerOf(env: NodeJS.ProcessEnv, destVm: string): string {
  const caller = env.QREXEC_REMOTE_DOMAIN;
  if (!caller) throw new Refusal("this handler runs only as a qrexec service (QREXEC_REMOTE_DOMAIN is not set); call qubes.DedupBackup or qubes.DedupRestore from the backup qube.");
  if (caller !== destVm) throw new Refusal(`qube "${oneLine(caller).slice(0, 40)}" is not the backup qube "${destVm}"; only the configured backup qube may request backups and restores.`);
  if (env.QREXEC_SERVICE_ARGUMENT) throw new Refusal("these services take no argument; call qubes.DedupBackup or qubes.DedupRestore without \"+...\".");
  return caller;
}

function backupPlan(bytes: Uint8Array, destVm: string, passphraseFile: string, defaultRepo?: string): Plan {
  const req = parseBackupRequest(bytes);
  const repo = req.repo ?? defaultRepo;
  const args = backupArgs({ destVm, passphraseFile, repo, exclude: req.exclude, qubes: req.qubes });
  const what = req.qubes.length ? req.qubes.join(", ") : "the qubes selected for backup";
  return { program: "qvm-backup", args, passphraseFile, destVm, repo, backupRequest: req, summary: () => `backup of ${what} sent to ${destVm} (repository ${repo ?? "default"})` };
}

function restorePlan(bytes: Uint8Array, destVm: string, passphraseFile: string, defaultRepo?: string): Plan {
  const req = parseRestoreRequest(bytes);
  const repo = req.repo ?? defaultRepo;
  const args = restoreArgs({ snapshot: req.snapshot, sourceVm: destVm, passphraseFile, repo, verifyOnly: req.verifyOnly, paranoid: req.paranoid, conflicts: req.conflicts, exclude: [], qubes: req.qubes, dumpQubes: sendOnly(req.qubes) });
  const summary = (lines: string[]) => {
    const { done, skipped } = restoreOutcome(lines);
    const verb = req.verifyOnly ? "verified" : "restored";
    const list = done.length ? `${done.length} qube(s): ${done.join(", ")}` : "no qubes";
    const where = req.paranoid ? " in a disposable qube (paranoid mode)" : "";
    return `${verb} ${list} from snapshot ${req.snapshot}${where}${skipped.length ? `; skipped existing ${skipped.join(", ")}` : ""}`;
  };
  return { program: "qvm-backup-restore", args, passphraseFile, summary, request: req, destVm, repo };
}

function pointPlan(bytes: Uint8Array, destVm: string, passphraseFile: string, defaultRepo?: string): Plan {
  const req = parseRestorePointRequest(bytes);
  // every name is checked again while each run's argv is built (runs.ts)
  for (const q of req.qubes) qubeName(q);
  return { program: "qvm-backup-restore", args: [], passphraseFile, summary: () => "", pointRequest: req, destVm, repo: req.repo ?? defaultRepo };
}

/**
 * Checks one request (the raw bytes the caller sent) the way the handler
 * does and plans the run: the request grammar, then every name again while
 * the argv is built from fixed words. Pure.
 * @throws RequestError or ValidationError when the request must be refused.
 */
export function planRequest(kind: "backup" | "restore", bytes: Uint8Array, destVm: string, passphraseFile: string, defaultRepo?: string): Plan {
  if (kind === "restore" && isRestorePointRequest(bytes)) return pointPlan(bytes, destVm, passphraseFile, defaultRepo);
  return (kind === "backup" ? backupPlan : restorePlan)(bytes, destVm, passphraseFile, defaultRepo);
}

async function prepare(kind: "backup" | "restore", root: string, io: RpcIo): Promise<{ plan: Plan; shimDir: string }> {
  let cfg;
  try {
    cfg = loadConfig(root);
  } catch (e) {
    throw new Dom0Failure((e as Error).message);
  }
  callerOf(io.env, cfg.destVm);
  const bytes = await readRequestBytes(io.stdin).catch((e: Error) => {
    throw e instanceof RequestError ? new Refusal(e.message) : e;
  });
  const passphraseFile = underRoot(root, cfg.passphraseFile);
  let plan: Plan;
  try {
    qubeName(cfg.destVm, "backup qube");
    plan = { ...planRequest(kind, bytes, cfg.destVm, passphraseFile, cfg.repo), notifySuccess: cfg.notifySuccess };
  } catch (e) {
    if (e instanceof RequestError || e instanceof ValidationError) throw new Refusal(e.message);
    throw e;
  }
  try {
    checkPassphraseFile(passphraseFile);
    return { plan, shimDir: shimDirForRuns(root) };
  } catch (e) {
    throw new Dom0Failure((e as Error).message);
  }
}

function writeNote(io: RpcIo, text: string): void {
  if (!io.stdout.destroyed && io.stdout.writable) io.stdout.write(`${formatNote(text)}\n`);
}

/**
 * The change record's plan for a backup request (changes/): with
 * `"changed": true` the qvm-backup argv names only the changed qubes.
 */
async function changesOf(root: string, plan: Plan, io: RpcIo): Promise<{ run: Awaited<ReturnType<typeof changedBackupRun>>; plan: Plan } | { failure: string }> {
  const req = plan.backupRequest!;
  let cfg;
  try {
    cfg = loadConfig(root);
    const run = await changedBackupRun(root, { qubes: req.qubes, exclude: req.exclude, changed: req.changed === true, forceFull: req.full === true, fullEveryDays: cfg.fullEveryDays, now: changeClock(io.env), env: io.env });
    if (!req.changed) return { run, plan };
    const args = backupArgs({ destVm: plan.destVm, passphraseFile: plan.passphraseFile, repo: plan.repo, exclude: run.plan.exclude, qubes: run.plan.qubes });
    const what = run.plan.qubes.length ? `the changed qubes ${run.plan.qubes.join(", ")}` : "every selected qube";
    return { run, plan: { ...plan, args, summary: () => `backup of ${what} sent to ${plan.destVm} (repository ${plan.repo ?? "default"})` } };
  } catch (e) {
    return { failure: (e as Error).message };
  }
}

/**
 * Handles one qrexec call of kind `kind` with the agent's files under `root`.
 * Never throws: every outcome is a protocol line on `io.stdout`.
 * @returns the exit status (0 ok, 2 refused, else the tool's status or 1).
 */
export async function handleRpc(kind: "backup" | "restore", root: string, io: RpcIo): Promise<number> {
  const write = (reply: Reply) => {
    if (!io.stdout.destroyed && io.stdout.writable) io.stdout.write(`${formatReply(reply)}\n`);
  };
  let prepared;
  try {
    prepared = await prepare(kind, root, io);
  } catch (e) {
    if (e instanceof Refusal) return write({ kind: "refused", reason: e.message }), 2;
    return write({ kind: "failed", reason: (e as Error).message }), 1;
  }
  const { plan: requested, shimDir } = prepared;
  if (requested.pointRequest) return handlePointRestore(root, requested, requested.pointRequest, shimDir, io, write);
  if (requested.request) return handleRestore(root, requested, requested.request, shimDir, io, write);
  const changes = await changesOf(root, requested, io);
  if ("failure" in changes) return write({ kind: "failed", reason: changes.failure }), 1;
  for (const l of changes.run.plan.lines) writeNote(io, l);
  if (changes.run.plan.nothingToDo) return write({ kind: "ok", summary: changes.run.nothingLine.replace(/\.$/, "") }), 0;
  const plan = changes.plan;
  const since = Date.now();
  const run: ToolRun = await runTool(plan.program, plan.args, shimDir, { ...io.env, ...stateEnv(root) }, io.stdout);
  if (run.exitCode !== 0) removeSpoolsSince(root, since);
  if (run.exitCode === 0) {
    const f = recordBackup(root, since, new Date());
    const copy = "warning" in f ? "" : await pushAfterBackup(root, plan, io.env);
    const ledger = "warning" in f ? `; warning: ${f.warning}` : `; recorded as backup ${f.recorded.backupId} in dom0's ledger`;
    const recorded = changes.run.after("warning" in f ? undefined : f.recorded);
    if (recorded) writeNote(io, recorded);
    const summary = `${plan.summary(run.stdoutLines)}${ledger}${copy.startsWith("warning:") ? `; ${copy}` : ""}`;
    await notifyEnd({ what: "backup", ok: true, text: summary }, plan.notifySuccess === true, io.env);
    if (run.callerGone) return 1;
    write({ kind: "ok", summary });
    return 0;
  }
  await notifyEnd({ what: "backup", ok: false, text: run.callerGone ? "the backup qube went away, the backup was stopped" : run.reason }, plan.notifySuccess === true, io.env);
  if (run.callerGone) return 1;
  write({ kind: "failed", reason: run.reason });
  return run.exitCode || 1;
}
