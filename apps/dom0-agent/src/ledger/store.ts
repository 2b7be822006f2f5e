/**
 * dom0's ledger on disk, under the agent's state directory
 * `<root>/var/lib/qubes-dedup` (0700, root-only): `ledger/<backup-id>.json`
 * (0600, one record each, record.ts), `spool/<backup-id>/` (what the shim
 * wrote during a backup) and `runs/<run>/` (one restore's plan and journal).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { RESTORE_RUN_ENV, STATE_DIR, STATE_DIR_ENV, formatRestorePlan, parseJournal, type JournalEntry, type RestorePlan } from "@qubes-dedup/shim";
import { underRoot } from "../config.ts";
import { LedgerError, foldSpool, formatLedgerRecord, parseLedgerRecord, type LedgerRecord } from "./record.ts";

/** The state directory under `root` and its parts. */
export function statePaths(root: string) {
  const state = underRoot(root, STATE_DIR);
  return { state, ledger: path.join(state, "ledger"), spool: path.join(state, "spool"), runs: path.join(state, "runs") };
}

/** The environment that tells the shim (when the agent's env reaches it) where the state directory is. */
export function stateEnv(root: string): NodeJS.ProcessEnv {
  return { [STATE_DIR_ENV]: statePaths(root).state };
}

function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

/**
 * Every record of the ledger, oldest backup-id first; [] when there is none.
 * @throws LedgerError for a damaged record file.
 */
export function readLedger(root: string): LedgerRecord[] {
  const dir = statePaths(root).ledger;
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return [];
  }
  return names.map((n) => parseLedgerRecord(fs.readFileSync(path.join(dir, n), "utf8"), path.join(dir, n)));
}

/** Writes one record (0600, temp file + rename, so a crash never leaves half a record). @returns its file. */
export function writeRecord(root: string, r: LedgerRecord): string {
  const dir = statePaths(root).ledger;
  privateDir(path.dirname(dir));
  privateDir(dir);
  const file = path.join(dir, `${r.backupId}.json`);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, formatLedgerRecord(r), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

/** The backup-ids whose spool the shim started at or after `sinceMs` (epoch milliseconds). */
export function spoolsSince(root: string, sinceMs: number): string[] {
  const dir = statePaths(root).spool;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => {
    try {
      return fs.statSync(path.join(dir, n, "header")).mtimeMs >= sinceMs - 1000;
    } catch {
      return false;
    }
  });
}

/** The outcome of recording a backup. */
export type FoldResult = { recorded: LedgerRecord; file: string } | { warning: string };

/**
 * After a successful qvm-backup started at `sinceMs`: folds the one spool
 * the shim wrote meanwhile into the ledger and removes it.
 */
export function recordBackup(root: string, sinceMs: number, now: Date): FoldResult {
  const ids = spoolsSince(root, sinceMs);
  const dir = statePaths(root).spool;
  if (ids.length !== 1) {
    const why = ids.length === 0 ? "the shim recorded nothing for it (check that the shim is installed for qubesd: `qubes-dedup-agent doctor`)" : `${ids.length} backups ran at the same time (${ids.join(", ")})`;
    return { warning: `the backup is stored but not in dom0's ledger: ${why}; its restores will not be checked for completeness.` };
  }
  const id = ids[0]!;
  const spool = path.join(dir, id);
  try {
    if (fs.existsSync(path.join(spool, "broken"))) throw new LedgerError(`the shim could not record backup ${id} (${fs.readFileSync(path.join(spool, "broken"), "utf8").split("\n")[0]})`);
    const rec = foldSpool({ backupId: id, chunks: fs.readFileSync(path.join(spool, "chunks"), "utf8"), qubesXml: fs.readFileSync(path.join(spool, "qubes.xml.000")) }, now.toISOString());
    const file = writeRecord(root, rec);
    return { recorded: rec, file };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).replace(/[.;]?\s*the backup is not recorded\.?$/, "");
    return { warning: `backup ${id} is stored but not in dom0's ledger: ${msg}; its restores will not be checked for completeness.` };
  } finally {
    fs.rmSync(spool, { recursive: true, force: true });
  }
}

/** One restore run's directory, holding the plan for the shim. */
export interface RunDir {
  dir: string;
  /** The variables the shim needs (RESTORE_RUN_ENV and the state directory). */
  env: NodeJS.ProcessEnv;
  journal(): JournalEntry[];
  remove(): void;
}

/** Creates `runs/<run>/plan.json` (0600 in 0700 directories). */
export function startRun(root: string, plan: RestorePlan): RunDir {
  const p = statePaths(root);
  privateDir(p.state);
  privateDir(p.runs);
  const dir = path.join(p.runs, `${Date.now().toString(36)}-${crypto.randomBytes(4).toString("hex")}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, "plan.json"), formatRestorePlan(plan), { mode: 0o600 });
  return {
    dir,
    env: { ...stateEnv(root), [RESTORE_RUN_ENV]: dir },
    journal: () => {
      try {
        return parseJournal(fs.readFileSync(path.join(dir, "journal"), "utf8"));
      } catch {
        return [];
      }
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Removes the spools the shim started at or after `sinceMs` (a failed backup is not recorded). */
export function removeSpoolsSince(root: string, sinceMs: number): void {
  for (const id of spoolsSince(root, sinceMs)) fs.rmSync(path.join(statePaths(root).spool, id), { recursive: true, force: true });
}
