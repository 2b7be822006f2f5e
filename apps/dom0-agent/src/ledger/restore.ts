/**
 * A restore through dom0's ledger (docs/LEDGER.md), shared by the `restore`
 * and `verify` commands and the qrexec handler: choose the backup from the
 * ledger, prepare the shim's plan, and after qvm-backup-restore judge the
 * run from the shim's journal, removing qubes the run left incomplete.
 */
import { execa } from "execa";
import { completeness, type RestorePlan } from "@qubes-dedup/shim";
import { LedgerRefusal, chooseBackup, confirmationText, restorePlan, type RestoreChoice, type RestoreWish } from "./choose.ts";
import { readLedger, startRun, stateEnv, type RunDir } from "./store.ts";

/** A prepared restore. */
export interface LedgerRestore {
  choice: RestoreChoice;
  /** What the shim checks (undefined: no backup-id known, nothing is checked). */
  plan?: RestorePlan;
  /** The dom0 confirmation text (backup-id, date, qubes from the ledger). */
  confirmation: string;
  /** Qubes left out because they exist and the restore skips conflicts (passed to qvm-backup-restore as `-x`). */
  skipped: string[];
}

/** The qubes that exist in dom0 (`qvm-ls --raw-list`), needed only when conflicts are skipped. */
export async function existingQubes(env: NodeJS.ProcessEnv): Promise<string[]> {
  const r = await execa("qvm-ls", ["--raw-list"], { env, reject: false });
  if (r.exitCode !== 0) throw new LedgerRefusal(`cannot list the qubes of this machine (qvm-ls: ${String(r.stderr).trim() || `exit ${r.exitCode}`}); run this in dom0.`);
  return String(r.stdout).split("\n").filter(Boolean);
}

/**
 * Chooses the backup from the ledger under `root`.
 * @throws LedgerRefusal (or LedgerError for a damaged ledger file).
 */
export async function prepareRestore(root: string, wish: RestoreWish, o: { repo?: string; snapshot: string; conflicts?: "rename" | "skip"; env: NodeJS.ProcessEnv; mode?: "ask" | "tell" }): Promise<LedgerRestore> {
  const choice = chooseBackup(readLedger(root), wish);
  const exists = choice.record && o.conflicts === "skip" ? await existingQubes(o.env) : [];
  const skipped = choice.qubes.filter((q) => exists.includes(q));
  if (choice.record && skipped.length === choice.qubes.length) throw new LedgerRefusal(`every qube to restore (${skipped.join(", ")}) already exists and conflicts are skipped; restore with renaming or remove them first.`);
  return { choice, plan: restorePlan(choice, skipped), confirmation: confirmationText(choice, o.repo, o.snapshot, o.mode), skipped };
}

/**
 * The same restore in paranoid mode: the disposable qube decrypts every
 * chunk with its own shim, which has no run directory from this dom0, so
 * nothing can be checked chunk by chunk or for completeness here. The
 * ledger still chose the backup and wrote the confirmation.
 */
export function paranoidRestore(r: LedgerRestore): LedgerRestore {
  const warning = "paranoid mode: the disposable qube decrypted the stream, so dom0 could not check its chunks against the ledger (completeness not checked)";
  return { ...r, plan: undefined, choice: { ...r.choice, warning } };
}

/**
 * Runs `tool` (qvm-backup-restore) for the prepared restore and lists the
 * qubes before and after it, so that judgeRun knows what the run created.
 * A verification writes nothing, and a run dom0 cannot check removes
 * nothing: neither lists.
 */
export async function runListingQubes<T extends { stdoutLines?: string[] }>(r: LedgerRestore, verifyOnly: boolean, env: NodeJS.ProcessEnv, tool: () => Promise<T>): Promise<T & { created?: { name: string; as: string }[] }> {
  const planned = r.plan && !r.plan.legacy ? r.choice.qubes.filter((q) => !r.skipped.includes(q)) : [];
  const before = verifyOnly || planned.length === 0 ? undefined : await listQubes(env);
  const result = await tool();
  const after = before ? await listQubes(env) : undefined;
  return before && after ? { ...result, created: createdQubes(before, after, result.stdoutLines ?? [], planned) } : result;
}

/** The run directory for `r` (only when there is a plan) and the environment the tool needs. */
export function beginRun(root: string, r: LedgerRestore): { run?: RunDir; env: NodeJS.ProcessEnv } {
  if (!r.plan) return { env: stateEnv(root) };
  const run = startRun(root, r.plan);
  return { run, env: run.env };
}

/** `-> Restored work as work-1: …` lines: each restored qube's backup name and new name. */
export function restoredQubes(stdoutLines: string[]): { name: string; as: string }[] {
  const out: { name: string; as: string }[] = [];
  for (const l of stdoutLines) {
    const m = /^-> Restored ([A-Za-z0-9_.-]+)(?: as ([A-Za-z0-9_.-]+))?:/.exec(l);
    if (m) out.push({ name: m[1]!, as: m[2] ?? m[1]! });
  }
  return out;
}

/** The qubes of this machine (`qvm-ls --raw-list`), or undefined when they cannot be listed. */
export async function listQubes(env: NodeJS.ProcessEnv): Promise<string[] | undefined> {
  try {
    return await existingQubes(env);
  } catch {
    return undefined;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The qubes a run created: in `after` but not `before` (`qvm-ls`), each with
 * the backup's qube it came from: by the tool's `-> Restored X as Y` line,
 * else by name, or by the name `qvm-backup-restore --rename-conflicting`
 * gives (`<name><N>`). The stock tool creates qubes before it writes their
 * data, and a failed run need not print those lines, so the listing is what
 * counts. New qubes that come from no planned qube (made meanwhile by
 * someone else) are left out. Pure.
 */
export function createdQubes(before: string[], after: string[], stdoutLines: string[], planned: string[]): { name: string; as: string }[] {
  const byLine = new Map(restoredQubes(stdoutLines).map((r) => [r.as, r.name]));
  const out: { name: string; as: string }[] = [];
  for (const n of after) {
    if (before.includes(n)) continue;
    const name = byLine.get(n) ?? (planned.includes(n) ? n : planned.find((p) => new RegExp(`^${escapeRe(p)}[0-9]+$`).test(n)));
    if (name !== undefined && planned.includes(name)) out.push({ name, as: n });
  }
  return out;
}

/** How a run ended, judged against the ledger. */
export interface Verdict {
  ok: boolean;
  /** One sentence when not ok (names the qube and the file when the ledger knows them). */
  reason?: string;
  /** Restored names (after renaming) the run left incomplete: to be removed. */
  incomplete: string[];
  /** Restored names that are complete. */
  complete: string[];
}

/**
 * Judges a finished run. Pure given the journal.
 * @param tool the tool's exit status and its one-sentence failure reason;
 *   `created`: the qubes the run created ({@link createdQubes}), when dom0
 *   could list them before and after (else its `-> Restored` lines count).
 */
export function judgeRun(plan: RestorePlan | undefined, run: RunDir | undefined, tool: { exitCode: number; reason: string; stdoutLines: string[]; created?: { name: string; as: string }[] }): Verdict {
  const restored = tool.created ?? restoredQubes(tool.stdoutLines);
  if (!plan || !run) return { ok: tool.exitCode === 0, ...(tool.exitCode === 0 ? {} : { reason: tool.reason }), incomplete: [], complete: restored.map((r) => r.as) };
  const journal = run.journal();
  const fail = journal.find((e) => e.kind === "fail");
  const accepted = journal.flatMap((e) => (e.kind === "ok" ? [e.path] : []));
  const c = completeness(plan, accepted);
  const bad = new Set(c.incompleteQubes);
  const incomplete = restored.filter((r) => bad.has(r.name)).map((r) => r.as);
  const complete = restored.filter((r) => !bad.has(r.name)).map((r) => r.as);
  if (fail?.kind === "fail") return { ok: false, reason: fail.reason, incomplete, complete };
  // A tool that failed before any data arrived (a name conflict, a wrong passphrase) has the better reason.
  const noData = accepted.every((p) => p === "qubes.xml.000");
  if (tool.exitCode !== 0 && noData) return { ok: false, reason: tool.reason, incomplete, complete };
  if (!c.complete) return { ok: false, reason: c.missing, incomplete, complete };
  if (tool.exitCode !== 0) return { ok: false, reason: tool.reason, incomplete, complete };
  return { ok: true, incomplete, complete };
}

/**
 * Removes the qubes a failed run left incomplete (`qvm-remove --force`), so
 * none looks restored. @returns one line for each qube.
 */
export async function removeIncomplete(names: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const lines: string[] = [];
  for (const n of names) {
    const r = await execa("qvm-remove", ["--force", n], { env, reject: false });
    lines.push(r.exitCode === 0 ? `removed qube ${n}: this run restored it incompletely` : `could not remove the incomplete qube ${n} (qvm-remove: ${String(r.stderr).trim() || `exit ${r.exitCode}`}); remove it by hand with \`qvm-remove ${n}\``);
  }
  return lines;
}
