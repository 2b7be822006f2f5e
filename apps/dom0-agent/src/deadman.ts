/**
 * The dead-man check (`qubes-dedup-agent deadman`, run daily by the
 * `qubes-dedup-deadman.timer` that `shim install` and the dom0 package put
 * in place): for every qube that should be backed up, the age of its newest
 * good backup in dom0's own ledger, and a warning when none is newer than N
 * days.
 *
 * Which qubes: every live qube (`qvm-ls`) except dom0 and the qubes whose
 * `include_in_backups` property is False, i.e. exactly the qubes that a
 * plain `qvm-backup` (and `qubes-dedup-agent backup` without names) backs
 * up. A good backup is a ledger record: the agent writes one only after
 * qvm-backup exited 0 and the shim accounted for every chunk. A record's age
 * is counted from its `recorded` time (when dom0 folded it).
 */
import { execa } from "execa";
import { UsageError } from "./args.ts";
import { loadConfig } from "./config.ts";
import type { LedgerRecord } from "./ledger/record.ts";
import { readLedger } from "./ledger/store.ts";
import { messageArgs, sendNotification } from "./notify.ts";

/** Exit status of `deadman` when some qube has no good backup newer than N days (1 is a failure to check, 2 a usage error). */
export const STALE_EXIT = 3;

/** A live qube as qvm-ls lists it. */
export interface LiveQube {
  name: string;
  /** Qubes class: AdminVM, AppVM, TemplateVM, … */
  klass: string;
  /** The `include_in_backups` property (dom0 has none: false here). */
  includeInBackups: boolean;
}

/** One qube's standing. */
export interface Freshness {
  name: string;
  /** The newest ledger record holding the qube; null: never backed up. */
  newest: { backupId: string; recorded: string } | null;
  /** Seconds since `newest.recorded` (0 for a time in the future); null when never backed up. */
  ageSeconds: number | null;
  /** No good backup newer than the limit. */
  stale: boolean;
}

/** The qvm-ls call that lists what {@link parseQvmLs} reads. */
export const QVM_LS_ARGS = ["--raw-data", "--fields", "name,class,include_in_backups"];

/**
 * Parses `qvm-ls --raw-data --fields name,class,include_in_backups` output
 * (one `name|class|True|False|-` line per qube). Pure.
 * @throws Error for a line of another shape.
 */
export function parseQvmLs(text: string): LiveQube[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [name, klass, include, extra] = line.split("|");
      if (!name || !klass || include === undefined || extra !== undefined) throw new Error(`qvm-ls printed "${line}", not name|class|include_in_backups; run this in dom0 (Qubes 4.1 or later).`);
      return { name, klass, includeInBackups: include === "True" };
    });
}

/** The qubes the dead-man check watches: not dom0, and include_in_backups; by name (code points, as qvm-ls sorts). Pure. */
export function watchedQubes(live: LiveQube[]): string[] {
  return live
    .filter((q) => q.klass !== "AdminVM" && q.name !== "dom0" && q.includeInBackups)
    .map((q) => q.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Each watched qube's newest good backup and whether it is older than
 * `days` days at `now`. Order: as `qubes` lists them. Pure.
 */
export function judgeFreshness(qubes: string[], records: LedgerRecord[], now: Date, days: number): Freshness[] {
  return qubes.map((name) => {
    let newest: LedgerRecord | undefined;
    for (const r of records) {
      if (r.qubes.some((q) => q.name === name) && (!newest || Date.parse(r.recorded) > Date.parse(newest.recorded))) newest = r;
    }
    if (!newest) return { name, newest: null, ageSeconds: null, stale: true };
    const ageSeconds = Math.max(0, Math.floor((now.getTime() - Date.parse(newest.recorded)) / 1000));
    return { name, newest: { backupId: newest.backupId, recorded: newest.recorded }, ageSeconds, stale: ageSeconds >= days * 86400 };
  });
}

/** "less than an hour", "1 hour", "5 hours", "1 day", "10 days" (whole units, rounded down). Pure. */
export function ageText(seconds: number): string {
  const [n, unit] = seconds < 3600 ? [0, ""] : seconds < 86400 ? [Math.floor(seconds / 3600), "hour"] : [Math.floor(seconds / 86400), "day"];
  return n === 0 ? "less than an hour" : `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** What a stale qube lacks, for the summary: "never backed up" or "10 days old". */
function lack(f: Freshness): string {
  return f.ageSeconds === null ? "never backed up" : `${ageText(f.ageSeconds)} old`;
}

/** The report's lines, one per qube, then the summary. Pure. */
export function formatFreshness(all: Freshness[], days: number): string[] {
  const lines = all.map((f) => `${f.stale ? "stale" : "ok   "}  ${f.name}: ${f.newest ? `newest good backup ${f.newest.backupId}, ${ageText(f.ageSeconds!)} old` : "never backed up"}`);
  return [...lines, summary(all, days)];
}

/** One sentence: all fresh, or which qubes are stale and what to do. Pure. */
export function summary(all: Freshness[], days: number): string {
  const stale = all.filter((f) => f.stale);
  const limit = `${days} day${days === 1 ? "" : "s"}`;
  if (all.length === 0) return "no qube to watch: every qube is dom0 or has include_in_backups False";
  if (stale.length === 0) return `every watched qube has a good backup newer than ${limit}`;
  return `no good backup newer than ${limit} of ${stale.map((f) => `${f.name} (${lack(f)})`).join(", ")}; run \`qubes-dedup-agent backup\` or check the backup qube's schedule`;
}

/**
 * The live qubes (`qvm-ls`).
 * @throws Error when qvm-ls cannot run or fails.
 */
export async function liveQubes(env: NodeJS.ProcessEnv): Promise<LiveQube[]> {
  const r = await execa("qvm-ls", QVM_LS_ARGS, { env, reject: false, stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`cannot list the qubes of this machine (qvm-ls: ${String(r.stderr).trim() || String(r.message)}); run this in dom0.`);
  return parseQvmLs(String(r.stdout));
}

/** Options of `deadman`, as commander names them. */
export interface DeadmanOptions {
  root: string;
  /** The limit as typed (a whole number of days); default: the config's deadmanDays. */
  days?: string;
  json?: boolean;
}

/**
 * `deadman [--days N] [--json]`: prints one line per watched qube and the
 * summary (or one JSON object), notifies dom0's desktop once, listing the
 * stale qubes, when there are any, and resolves to {@link STALE_EXIT} then,
 * else 0.
 * @throws UsageError for a bad --days; Error when the ledger or qvm-ls cannot be read.
 */
export async function deadmanCmd(o: DeadmanOptions, now = new Date()): Promise<number> {
  const cfg = loadConfig(o.root);
  if (o.days !== undefined && !/^[1-9]\d{0,3}$/.test(o.days)) throw new UsageError(`--days takes a whole number of days from 1 to 9999, not "${o.days}"`);
  const days = o.days === undefined ? cfg.deadmanDays : Number(o.days);
  const all = judgeFreshness(watchedQubes(await liveQubes(process.env)), readLedger(o.root), now, days);
  const stale = all.filter((f) => f.stale);
  const text = summary(all, days);
  const out = o.json ? [JSON.stringify({ days, checked: now.toISOString(), qubes: all, stale: stale.map((f) => f.name), summary: text })] : formatFreshness(all, days);
  for (const l of out) process.stdout.write(`${l}\n`);
  if (stale.length === 0) return 0;
  await sendNotification(messageArgs("qubes-dedup: no recent backup", text, "critical"), process.env, o.root);
  return STALE_EXIT;
}
