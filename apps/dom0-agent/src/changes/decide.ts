/**
 * Which qubes `backup --changed` sends, and why, from dom0's change record
 * and what dom0 reads now. Pure. A qube is sent when:
 * - a full backup is due: `--full`, or a selected qube was last sent at
 *   least `fullEveryDays` ago (so every selected qube is sent at least that
 *   often, and together): every selected qube;
 * - it was never backed up (under this name; a qube with the uuid of a
 *   recorded one that is gone from qubes.xml was renamed);
 * - a signal cannot be read ("cannot tell: …");
 * - it was running during its last backup and is halted now (that backup
 *   holds its state as of the stop before; the stop after it committed new
 *   data);
 * - a volume's signal, its settings, its firewall.xml or notes.txt differ.
 * A template's update changes the template only: the qubes based on it
 * back up no data of it (their root volume is not saved), so they are not
 * sent unless their own data or settings changed.
 */
import type { ChangeRecord, QubeEntry, QubeObservation } from "./record.ts";
import type { VolumeSignal } from "./signals.ts";

/** One qube's verdict. */
export interface Verdict {
  qube: string;
  backup: boolean;
  /** e.g. "changed: private volume replaced (lv uuid)", "unchanged since 20261201T…". */
  reason: string;
}

/** What {@link decide} needs. */
export interface DecideInput {
  record: ChangeRecord;
  /** The selected qubes in order, each with what dom0 read now (or why nothing could be read). */
  selected: { name: string; observed: QubeObservation | { unknown: string } }[];
  now: Date;
  fullEveryDays: number;
  /** `--full`. */
  forceFull: boolean;
}

/** The verdicts, and whether this is a full backup. */
export interface Decision {
  full: boolean;
  /** Why a full backup runs, when it does. */
  fullReason?: string;
  verdicts: Verdict[];
}

const DAY_MS = 86_400_000;

function fullDue(i: DecideInput): string | undefined {
  if (i.forceFull) return "full backup asked for (--full)";
  let oldest: { name: string; e: QubeEntry } | undefined;
  for (const s of i.selected) {
    const e = i.record.qubes[s.name];
    if (e && (!oldest || Date.parse(e.time) < Date.parse(oldest.e.time))) oldest = { name: s.name, e };
  }
  if (!oldest) return undefined;
  const days = Math.floor((i.now.getTime() - Date.parse(oldest.e.time)) / DAY_MS);
  if (days < i.fullEveryDays) return undefined;
  return `full backup due: ${oldest.name} was last sent ${days} days ago, in ${oldest.e.backupId} (fullEveryDays ${i.fullEveryDays})`;
}

function volumeChange(name: string, was: VolumeSignal | undefined, now: VolumeSignal): string | undefined {
  if (now.kind === "unknown") return `cannot tell: ${name} volume: ${now.why}`;
  if (!was) return `changed: new volume ${name}`;
  if (was.kind === "unknown") return `cannot tell: ${name} volume had no signal at its last backup (${was.why})`;
  if (was.kind !== now.kind) return `changed: ${name} volume moved to another kind of pool`;
  if (now.kind === "lvm" && was.kind === "lvm") {
    if (was.lv !== now.lv) return `changed: ${name} volume is now ${now.lv}`;
    if (was.uuid !== now.uuid) return `changed: ${name} volume replaced (lv uuid)`;
    if (was.size !== now.size) return `changed: ${name} volume resized (${was.size} to ${now.size} bytes)`;
  }
  if (now.kind === "file" && was.kind === "file") {
    if (was.ino !== now.ino) return `changed: ${name} volume replaced (inode)`;
    if (was.size !== now.size) return `changed: ${name} volume resized (${was.size} to ${now.size} bytes)`;
    if (was.mtimeNs !== now.mtimeNs) return `changed: ${name} volume written (mtime)`;
    if (was.ctimeNs !== now.ctimeNs) return `changed: ${name} volume touched (ctime)`;
  }
  if (now.kind === "tree" && was.kind === "tree" && was.digest !== now.digest) return `changed: files under ${name} (${now.entries} entries)`;
  return undefined;
}

/** Every difference of `now` from `was`, in a fixed order. */
export function differences(was: QubeEntry, now: QubeObservation): string[] {
  const out: string[] = [];
  if (was.running && !now.running) out.push("changed: stopped after its last backup, which it was running during");
  for (const [name, signal] of Object.entries(now.volumes)) {
    const c = volumeChange(name, was.volumes[name], signal);
    if (c) out.push(c);
  }
  for (const name of Object.keys(was.volumes)) if (!(name in now.volumes)) out.push(`changed: volume ${name} is gone`);
  if (was.settings !== now.settings) out.push("changed: settings (properties, features or volume config in qubes.xml)");
  for (const f of new Set([...Object.keys(was.files), ...Object.keys(now.files)])) {
    if ((was.files[f] ?? null) !== (now.files[f] ?? null)) out.push(`changed: ${f}`);
  }
  return out;
}

function verdictOf(i: DecideInput, name: string, observed: QubeObservation | { unknown: string }, liveNames: Set<string>): Verdict {
  if ("unknown" in observed) return { qube: name, backup: true, reason: `cannot tell: ${observed.unknown}` };
  const was = i.record.qubes[name];
  if (!was) {
    const from = observed.uuid ? Object.entries(i.record.qubes).find(([n, e]) => e.uuid === observed.uuid && !liveNames.has(n))?.[0] : undefined;
    return { qube: name, backup: true, reason: from ? `never backed up under this name (renamed from ${from})` : "never backed up" };
  }
  const diff = differences(was, observed);
  if (diff.length) return { qube: name, backup: true, reason: diff.join("; ") };
  const running = was.running ? " (running then and now: backed up as of its last stop)" : "";
  return { qube: name, backup: false, reason: `unchanged since ${was.backupId}${running}` };
}

/**
 * Decides. `liveNames`: every qube in qubes.xml now (to tell a rename from
 * a removal). Pure.
 */
export function decide(i: DecideInput, liveNames: Set<string>): Decision {
  const why = fullDue(i);
  const verdicts = i.selected.map((s) => verdictOf(i, s.name, s.observed, liveNames));
  if (!why) return { full: false, verdicts };
  return { full: true, fullReason: why, verdicts: verdicts.map((v) => (v.backup ? v : { ...v, backup: true, reason: `${why} (${v.reason})` })) };
}

/** Recorded qubes that are gone from qubes.xml: "gone from qubes.xml: old (last backed up in …)". Pure. */
export function goneLines(record: ChangeRecord, liveNames: Set<string>): string[] {
  return Object.entries(record.qubes)
    .filter(([n]) => !liveNames.has(n))
    .map(([n, e]) => `${n}: gone from qubes.xml; its last backup ${e.backupId} stays in the record`);
}
