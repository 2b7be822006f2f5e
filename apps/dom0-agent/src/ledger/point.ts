/**
 * Restore points, decided by dom0's ledger and never by the backup qube: the
 * restore point at time T is, for each qube, its latest good backup (a
 * ledger record) at or before T. With `backup --changed` a backup holds
 * only the qubes that changed, so one point is made of several backups.
 *
 * Restoring a point runs qvm-backup-restore once per backup involved, in
 * dependency order: a qube's template, net qube and default disposable
 * template (from the backups' `qubes.xml`, kept in the records as `uses`)
 * are restored before it, so that no qube falls back to a default. Pure.
 */
import { LedgerRefusal, byAge } from "./choose.ts";
import { backupIdTime, type LedgerRecord } from "./record.ts";

/** One qube of a restore point: where its data comes from. */
export interface PointQube {
  name: string;
  /** The backup holding the qube's data at the point. */
  backupId: string;
  /** When dom0 recorded that backup (ISO 8601). */
  recorded: string;
  /** The qubes it uses (template, net qube, default disposable template); [] when unknown. */
  uses: string[];
}

/** A restore point: the newest backup in it and every qube's source. */
export interface RestorePoint {
  /** The newest backup at or before the point's time: the point "as of" that backup. */
  backupId: string;
  recorded: string;
  /** Qubes in the order they first appear in the ledger (stream order). */
  qubes: PointQube[];
}

/** One run of qvm-backup-restore in a point's restore. */
export interface PointRun {
  backupId: string;
  /** Qubes this run restores (ledger names). */
  qubes: string[];
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;
const BACKUP_ID_RE = /^\d{8}T\d{6}-\d+$/;

/** The records a point `which` ("latest", a backup-id, an ISO time) includes, oldest first. @throws LedgerRefusal */
function recordsUpTo(records: LedgerRecord[], which: string): LedgerRecord[] {
  const all = byAge(records);
  if (all.length === 0) throw new LedgerRefusal("dom0's ledger records no backup yet, so there is no restore point; make a backup first.");
  if (which === "latest") return all;
  if (BACKUP_ID_RE.test(which)) {
    const i = all.findIndex((r) => r.backupId === which);
    if (i < 0) throw new LedgerRefusal(`backup ${which} is not in dom0's ledger, so it marks no restore point; list the backups with \`qubes-dedup-agent ledger list\`.`);
    return all.slice(0, i + 1);
  }
  if (!ISO_RE.test(which)) throw new LedgerRefusal(`"${which.slice(0, 40)}" names no restore point; use latest, a backup-id or a UTC time such as 2026-12-02T10:00:00Z.`);
  const t = Date.parse(which);
  const upTo = all.filter((r) => Date.parse(r.recorded) <= t);
  if (upTo.length === 0) throw new LedgerRefusal(`dom0's ledger records no backup at or before ${which} (the first is ${all[0]!.backupId}, recorded ${all[0]!.recorded}); choose a later time.`);
  return upTo;
}

/**
 * The restore point `which`: "latest", a backup-id (the point that backup
 * completed) or an ISO 8601 UTC time (the last backup dom0 recorded at or
 * before it). Its qubes are those of the newest backup's `qubes.xml` (the
 * qubes dom0 had then) that some backup holds; for records made before the
 * list was kept, every qube ever backed up. Pure.
 * @throws LedgerRefusal when the ledger holds no such point.
 */
export function restorePointAt(records: LedgerRecord[], which: string): RestorePoint {
  const upTo = recordsUpTo(records, which);
  const newest = upTo.at(-1)!;
  const latest = new Map<string, PointQube>();
  for (const r of upTo) {
    for (const q of r.qubes) {
      latest.set(q.name, { name: q.name, backupId: r.backupId, recorded: r.recorded, uses: q.uses ?? [] });
    }
  }
  const qubes = [...latest.values()].filter((q) => newest.listed === undefined || newest.listed.includes(q.name));
  return { backupId: newest.backupId, recorded: newest.recorded, qubes };
}

/**
 * Every restore point of the ledger, oldest first: one per recorded backup. Pure.
 */
export function restorePoints(records: LedgerRecord[]): RestorePoint[] {
  return byAge(records).map((r) => restorePointAt(records, r.backupId));
}

/**
 * The qubes of `point` to restore: `wanted` (all of the point when empty).
 * @throws LedgerRefusal for a qube the point does not hold.
 */
export function pointQubes(point: RestorePoint, wanted: string[]): PointQube[] {
  const missing = wanted.filter((w) => !point.qubes.some((q) => q.name === w));
  if (missing.length) {
    throw new LedgerRefusal(`qube ${missing.join(", ")} is in no backup of restore point ${point.backupId} according to dom0's ledger (it holds ${point.qubes.map((q) => q.name).join(", ")}); request only those qubes.`);
  }
  return wanted.length ? point.qubes.filter((q) => wanted.includes(q.name)) : point.qubes;
}

/** Orders `groups` (backup-id -> qubes) so that every backup comes after the backups of the qubes it uses; undefined when they depend on each other. */
function backupOrder(qubes: PointQube[]): PointRun[] | undefined {
  const of = new Map(qubes.map((q) => [q.name, q.backupId]));
  const ids = [...new Set(qubes.map((q) => q.backupId))];
  const needs = new Map(ids.map((id) => [id, new Set<string>()]));
  for (const q of qubes) for (const u of q.uses) if (of.has(u) && of.get(u) !== q.backupId) needs.get(q.backupId)!.add(of.get(u)!);
  const out: PointRun[] = [];
  const done = new Set<string>();
  while (out.length < ids.length) {
    const next = ids.find((id) => !done.has(id) && [...needs.get(id)!].every((n) => done.has(n)));
    if (next === undefined) return undefined;
    done.add(next);
    out.push({ backupId: next, qubes: qubes.filter((q) => q.backupId === next).map((q) => q.name) });
  }
  return out;
}

/** Qube by qube (for backups that depend on each other): each qube after the ones it uses, consecutive qubes of one backup in one run. */
function qubeOrder(qubes: PointQube[]): PointRun[] {
  const names = new Set(qubes.map((q) => q.name));
  const done = new Set<string>();
  const out: PointRun[] = [];
  const left = [...qubes];
  while (left.length) {
    const ready = left.filter((q) => q.uses.every((u) => !names.has(u) || done.has(u) || u === q.name));
    // a loop of qubes using each other (not possible in Qubes): take them in stream order
    const last = out.at(-1);
    const pick = ready.find((q) => q.backupId === last?.backupId) ?? ready[0] ?? left[0]!;
    left.splice(left.indexOf(pick), 1);
    done.add(pick.name);
    if (last?.backupId === pick.backupId) last.qubes.push(pick.name);
    else out.push({ backupId: pick.backupId, qubes: [pick.name] });
  }
  return out;
}

/**
 * The qvm-backup-restore runs that restore `qubes`, in dependency order:
 * one run per backup, ordered so that templates, net qubes and disposable
 * templates are restored before the qubes that use them (within a run the
 * stock tool itself restores templates first). When two backups each hold
 * a qube the other's qubes use, the backups are split into more runs. Pure.
 */
export function pointRuns(qubes: PointQube[]): PointRun[] {
  return backupOrder(qubes) ?? qubeOrder(qubes);
}

/**
 * The one dom0 confirmation for a point's restore (`ask`: the dialog's
 * question; `tell`: what the dom0 CLI prints): every qube with the date of
 * its data and the backup it comes from, in the order of the runs. Pure.
 */
export function pointConfirmation(point: RestorePoint, runs: PointRun[], qubes: PointQube[], repo: string | undefined, mode: "ask" | "tell" = "ask"): string {
  const lines = runs.flatMap((r) => r.qubes.map((n) => `  ${n}: data of ${backupIdTime(r.backupId)} (backup ${r.backupId})`));
  const verb = mode === "ask" ? "Restore" : "restoring";
  const head = `${verb} ${qubes.length} qube(s) of the restore point of backup ${point.backupId} (made ${backupIdTime(point.backupId)}) from repository ${repo ?? "(default)"}, in ${runs.length} run(s) of qvm-backup-restore${mode === "ask" ? "?" : ":"}`;
  return [head, ...lines].join("\n");
}
