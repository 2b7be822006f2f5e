/**
 * Which backup a restore takes, decided by dom0's ledger and never by the
 * backup qube (docs/LEDGER.md): the newest recorded backup holding every
 * requested qube, unless the user named a backup-id; a named backup that is
 * not the newest for those qubes is an "older backup" and the confirmation
 * says so. A backup-id older than every recorded one is a backup made
 * before the ledger: restorable, with a warning. Pure.
 */
import type { PlanFile, RestorePlan } from "@qubes-dedup/shim";
import { backupIdTime, type LedgerRecord } from "./record.ts";

/** Raised when the ledger refuses the restore; the message is one sentence. */
export class LedgerRefusal extends Error {
  override name = "LedgerRefusal";
}

/** What the user (or the backup qube's request) asked for. */
export interface RestoreWish {
  /** The backup-id the user named, if any. */
  backupId?: string;
  /** Requested qubes; empty = every qube of the backup. */
  qubes: string[];
  exclude: string[];
}

/** The restore dom0 will confirm and check. */
export interface RestoreChoice {
  /** The chosen backup's record; undefined for a backup made before the ledger. */
  record?: LedgerRecord;
  /** The backup-id the stream must carry (undefined: unknown, nothing can be checked). */
  backupId?: string;
  /** The qubes to restore (from the ledger; as requested for a backup before the ledger). */
  qubes: string[];
  /** The newest backup-id holding some of these qubes, when the chosen one is older. */
  newer?: string;
  /** Which of the qubes that newer backup holds. */
  newerHolds?: string[];
  /** Why completeness cannot be checked (backups before the ledger). */
  warning?: string;
}

/** The records oldest first: by the time in the backup-id, then by when dom0 recorded them. Pure. */
export function byAge(records: LedgerRecord[]): LedgerRecord[] {
  return [...records].sort((a, b) => a.backupId.slice(0, 15).localeCompare(b.backupId.slice(0, 15)) || a.recorded.localeCompare(b.recorded));
}

const holds = (r: LedgerRecord, qubes: string[]) => qubes.every((q) => r.qubes.some((x) => x.name === q));
const list = (names: string[]) => names.join(", ");

function selected(r: LedgerRecord, w: RestoreWish): string[] {
  const missing = w.qubes.filter((q) => !holds(r, [q]));
  if (missing.length) {
    throw new LedgerRefusal(`qube ${list(missing)} is not in backup ${r.backupId} according to dom0's ledger (it holds ${list(r.qubes.map((q) => q.name))}); request only those qubes.`);
  }
  const names = w.qubes.length ? w.qubes : r.qubes.map((q) => q.name);
  const out = names.filter((n) => !w.exclude.includes(n));
  if (out.length === 0) throw new LedgerRefusal(`nothing is left to restore from backup ${r.backupId} after the exclusions; exclude fewer qubes.`);
  return out;
}

/**
 * Chooses the backup and the qubes. Pure.
 * @throws LedgerRefusal when the ledger rules the request out.
 */
export function chooseBackup(records: LedgerRecord[], w: RestoreWish): RestoreChoice {
  const all = byAge(records);
  if (w.backupId !== undefined) {
    const r = all.find((x) => x.backupId === w.backupId);
    if (!r) {
      const oldest = all[0];
      if (oldest && w.backupId.slice(0, 15) >= oldest.backupId.slice(0, 15)) {
        throw new LedgerRefusal(`backup ${w.backupId} is not in dom0's ledger, which records every backup since ${oldest.backupId}; list them with \`qubes-dedup-agent ledger list\` and restore one of those.`);
      }
      return { backupId: w.backupId, qubes: w.qubes, warning: `backup ${w.backupId} was made before dom0 kept its ledger, so its completeness cannot be checked` };
    }
    const qubes = selected(r, w);
    const newer = all.slice(all.indexOf(r) + 1).filter((x) => qubes.some((q) => holds(x, [q]))).at(-1);
    return { record: r, backupId: r.backupId, qubes, ...(newer ? { newer: newer.backupId, newerHolds: qubes.filter((q) => holds(newer, [q])) } : {}) };
  }
  if (all.length === 0) return { qubes: w.qubes, warning: "dom0's ledger records no backup yet, so this restore cannot be checked for completeness or for an older backup served in place of the newest" };
  const unknown = w.qubes.filter((q) => !all.some((x) => holds(x, [q])));
  if (unknown.length) {
    const newest = all.at(-1)!;
    throw new LedgerRefusal(`qube ${list(unknown)} is in no backup dom0's ledger records (the newest, ${newest.backupId}, holds ${list(newest.qubes.map((q) => q.name))}); request only qubes that were backed up.`);
  }
  const r = all.filter((x) => holds(x, w.qubes)).at(-1);
  if (!r) throw new LedgerRefusal(`no backup in dom0's ledger holds all of ${list(w.qubes)}; restore them from separate backups.`);
  const qubes = selected(r, w);
  const later = qubes.filter((q) => all.slice(all.indexOf(r) + 1).some((x) => holds(x, [q])));
  if (later.length) {
    throw new LedgerRefusal(`the newest backup holding all of ${list(qubes)} is ${r.backupId}, but ${list(later)} has a newer one; restore the qubes separately, or name backup ${r.backupId} to restore that older backup.`);
  }
  return { record: r, backupId: r.backupId, qubes };
}

/** The plan the shim checks the stream against (stream order), for `skip`ped qubes left out. Pure. */
export function restorePlan(c: RestoreChoice, skipped: string[] = []): RestorePlan | undefined {
  if (c.backupId === undefined) return undefined;
  if (!c.record) return { backupId: c.backupId, legacy: true, files: [] };
  const files: PlanFile[] = [];
  for (const q of c.record.qubes) {
    if (!c.qubes.includes(q.name) || skipped.includes(q.name)) continue;
    for (const f of q.files) files.push({ path: q.path.endsWith("/") ? `${q.path}${f.name}` : q.path, qube: q.name, name: f.name, tags: f.chunks });
  }
  return { backupId: c.backupId, legacy: false, qubesXmlTag: c.record.qubesXml.tag, files };
}

/**
 * The dom0 confirmation text (`ask`: a question for the dialog; `tell`: a
 * statement for the dom0 user who typed the command): backup-id, date and
 * qubes from the ledger, never from the request. Pure.
 */
export function confirmationText(c: RestoreChoice, repo: string | undefined, snapshot: string, mode: "ask" | "tell" = "ask"): string {
  const from = `from snapshot ${snapshot} of repository ${repo ?? "(default)"}`;
  const [verb, end, warn] = mode === "ask" ? ["Restore", "?", "Warning"] : ["restoring", "", "warning"];
  if (!c.record) {
    const what = c.backupId ? `backup ${c.backupId} (made ${backupIdTime(c.backupId)})` : "a backup dom0 has no record of";
    return `${verb} ${c.qubes.length ? list(c.qubes) : "every qube"} from ${what}, ${from}${end}\n${warn}: ${c.warning}.`;
  }
  const head = `${verb} ${list(c.qubes)} from ${c.newer ? "an older backup, " : ""}backup ${c.record.backupId} made ${backupIdTime(c.record.backupId)}, ${from}${end}`;
  return c.newer ? `${head}\nThis is an older backup: backup ${c.newer} (made ${backupIdTime(c.newer)}) is newer and holds ${list(c.newerHolds ?? [])}.` : head;
}
