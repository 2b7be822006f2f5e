/**
 * Moving dom0's ledger copy to and from the repository (docs/LEDGER.md).
 * dom0 cannot write to the repository: after each successful backup the
 * agent signs the whole ledger with a new sequence and runs
 * `qubes-dedup ledger store [--repo NAME]` in the backup qube through
 * `qvm-run --pass-io` (its qubes.VMShell service; a dom0 → qube call, which
 * no qrexec policy gates), the copy on stdin. A rebuild runs
 * `qubes-dedup ledger fetch` the same way and judges the answer (copy.ts).
 * The command line is built from fixed words and a checked repository name.
 * The sequence this dom0 last wrote or saw is kept in
 * `<state>/ledger-sequence` (0600).
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { parseFetchOutput, LedgerCopyError } from "@qubes-dedup/protocol";
import { repoName, qubeName } from "../validate.ts";
import { ledgerCopy, judgeCopy, RebuildRefusal } from "./copy.ts";
import { formatLedgerRecord, type LedgerRecord } from "./record.ts";
import { readLedger, statePaths, writeRecord } from "./store.ts";

/** Largest answer of `ledger fetch` read (bytes): a copy of at most 64 MiB in base64, plus the header files. */
const MAX_FETCH = 96 << 20;

/** Where the last sequence is kept. */
function sequenceFile(root: string): string {
  return path.join(statePaths(root).state, "ledger-sequence");
}

/** The highest sequence this dom0 wrote or saw; 0 when none. */
export function lastSequence(root: string): number {
  try {
    const n = Number(fs.readFileSync(sequenceFile(root), "utf8").trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** Keeps `n` as the last sequence (0600, temp file + rename). */
export function keepSequence(root: string, n: number): void {
  const file = sequenceFile(root);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, `${n}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Where the copy goes: the backup qube, the repository (checked names), the passphrase (first line of its file). */
export interface CopyTarget {
  destVm: string;
  repo?: string;
  passphrase: string;
}

/** `qvm-run` argv running `qubes-dedup ledger <sub> [--repo NAME]` in the backup qube. Pure. @throws ValidationError */
export function qvmRunArgs(sub: "store" | "fetch", t: Pick<CopyTarget, "destVm" | "repo">): string[] {
  const command = ["qubes-dedup", "ledger", sub, ...(t.repo === undefined ? [] : ["--repo", repoName(t.repo)])].join(" ");
  return ["--pass-io", "--no-gui", "--no-colour-output", "--no-colour-stderr", "--no-filter-escape-chars", qubeName(t.destVm, "backup qube"), command];
}

/** Why a qvm-run call failed, without a final period: it could not start, else the last line the backup qube's command wrote. */
function failure(r: { failed: boolean; exitCode?: number; stderr?: unknown; originalMessage?: string; shortMessage?: string }): string {
  if (r.failed && r.exitCode === undefined) return `cannot run qvm-run: ${r.originalMessage ?? r.shortMessage ?? "not found"}`;
  const last = String(r.stderr ?? "").trim().split("\n").at(-1)?.replace(/^qubes-dedup: /, "").replace(/\.$/, "");
  return last || `qvm-run exited ${r.exitCode}`;
}

/**
 * Signs the whole ledger under `root` with the next sequence and stores it
 * in the repository. The sequence is kept before sending, so a copy that
 * never arrived is never reused.
 * @returns one line to print: stored (with the sequence) or why not, as a warning
 */
export async function pushCopy(root: string, t: CopyTarget, env: NodeJS.ProcessEnv, now = new Date()): Promise<{ ok: boolean; line: string }> {
  let records: LedgerRecord[];
  try {
    records = readLedger(root);
  } catch (e) {
    return { ok: false, line: `warning: the repository's copy of dom0's ledger was not updated (${(e as Error).message.replace(/\.$/, "")}).` };
  }
  const sequence = lastSequence(root) + 1;
  keepSequence(root, sequence);
  const copy = ledgerCopy(t.passphrase, sequence, records, now);
  const r = await execa("qvm-run", qvmRunArgs("store", t), { env, input: copy, reject: false });
  if (r.exitCode === 0) return { ok: true, line: `stored dom0's ledger (${records.length} backups, sequence ${sequence}) in the repository` };
  return { ok: false, line: `warning: the repository's copy of dom0's ledger was not updated (${failure(r)}); it is sent again after the next backup, or now with \`qubes-dedup-agent ledger push\`.` };
}

/** What a rebuild did. */
export interface RebuildResult {
  sequence: number;
  /** backup-ids written into the ledger */
  added: string[];
  /** backup-ids the ledger already had (kept as they are) */
  kept: string[];
  /** recorded backups that differ from this dom0's own record (its own is kept) */
  differing: string[];
  /** genuine backups in the repository older than the copy's records or between them, not in the copy */
  unrecorded: string[];
}

/**
 * Rebuilds the ledger under `root` from the repository's copy: fetches it
 * with every backup's header files, judges it (copy.ts), writes the records
 * this dom0 lacks and keeps the copy's sequence as the last one seen.
 * Records this dom0 has are kept unchanged.
 * @throws RebuildRefusal (forged, rolled back, none; a failed fetch) with one sentence
 */
export async function rebuildLedger(root: string, t: CopyTarget, env: NodeJS.ProcessEnv): Promise<RebuildResult> {
  const r = await execa("qvm-run", qvmRunArgs("fetch", t), { env, reject: false, maxBuffer: MAX_FETCH, encoding: "utf8" });
  if (r.exitCode !== 0) {
    throw new RebuildRefusal(`cannot fetch dom0's ledger copy from the backup qube ${t.destVm} (${failure(r)}); check the backup qube and its repository, then run the rebuild again.`);
  }
  let material;
  try {
    material = parseFetchOutput(String(r.stdout));
  } catch (e) {
    if (e instanceof LedgerCopyError) throw new RebuildRefusal(e.message);
    throw e;
  }
  const last = lastSequence(root);
  const { copy, genuine } = judgeCopy(t.passphrase, material, last);
  const have = new Map(readLedger(root).map((x) => [x.backupId, x]));
  const out: RebuildResult = { sequence: copy.sequence, added: [], kept: [], differing: [], unrecorded: [] };
  for (const rec of copy.records) {
    const mine = have.get(rec.backupId);
    if (!mine) {
      writeRecord(root, rec);
      out.added.push(rec.backupId);
    } else if (formatLedgerRecord(mine) === formatLedgerRecord(rec)) out.kept.push(rec.backupId);
    else out.differing.push(rec.backupId);
  }
  const inCopy = new Set(copy.records.map((x) => x.backupId));
  out.unrecorded = genuine.filter((id) => !inCopy.has(id) && !have.has(id));
  keepSequence(root, Math.max(last, copy.sequence));
  return out;
}

/** The project passphrase: the first line of its file (checked by checkPassphraseFile before). */
export function passphraseIn(file: string): string {
  return fs.readFileSync(file, "utf8").split("\n")[0] ?? "";
}

/**
 * After a backup the ledger recorded: stores the ledger's new copy. Never fails the
 * backup. @returns the line to print (without the agent's prefix)
 */
export async function pushAfterBackup(root: string, o: { destVm: string; repo?: string; passphraseFile: string }, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await pushCopy(root, { destVm: o.destVm, repo: o.repo, passphrase: passphraseIn(o.passphraseFile) }, env)).line;
  } catch (e) {
    return `warning: the repository's copy of dom0's ledger was not updated (${(e as Error).message.replace(/\.$/, "")}).`;
  }
}
