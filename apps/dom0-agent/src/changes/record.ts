/**
 * dom0's change record: what each qube's last good backup contained, so
 * that `backup --changed` sends only the qubes that changed since. One file,
 * `<state>/changes/state.json` (0600 in 0700 directories, root-only,
 * written atomically: temp file + rename), replaced after each backup that
 * qvm-backup finished and dom0's ledger recorded:
 *
 * ```json
 * {"format":"qubes-dedup-changes/1",
 *  "qubes":{"work":{"backupId":"20261202T003500-1234","time":"2026-12-02T00:35:00.000Z",
 *     "running":false,"uuid":"…","settings":"<sha256 hex>",
 *     "volumes":{"private":{"kind":"lvm","lv":"qubes_dom0/vm-work-private","uuid":"…","size":2097152}},
 *     "files":{"firewall.xml":"<sha256 hex>","notes.txt":null}}}}
 * ```
 * Per qube: the backup-id that holds its current data (what restore points
 * are built from), when (the time its signals were read, just before that
 * backup started), whether it was running then (it was backed up as of its
 * previous stop, so its next stop is a change), and the signals
 * (signals.ts, store-xml.ts). `time` is also when the qube was last sent,
 * which the full-backup rule reads. Qubes no longer in qubes.xml keep their
 * entry.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { STATE_DIR } from "@qubes-dedup/shim";
import { underRoot } from "../config.ts";

/** The `format` value of version 1. */
export const CHANGES_FORMAT = "qubes-dedup-changes/1";

const Hex = z.string().regex(/^[0-9a-f]{64}$/);
const Signal = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("lvm"), lv: z.string(), uuid: z.string(), size: z.number().int().nonnegative() }).strict(),
  z.object({ kind: z.literal("file"), ino: z.string(), mtimeNs: z.string(), ctimeNs: z.string(), size: z.number().int().nonnegative() }).strict(),
  z.object({ kind: z.literal("tree"), digest: Hex, entries: z.number().int().nonnegative() }).strict(),
  z.object({ kind: z.literal("unknown"), why: z.string() }).strict(),
]);
const Observed = z
  .object({
    running: z.boolean(),
    uuid: z.string().optional(),
    settings: Hex,
    volumes: z.record(z.string(), Signal),
    files: z.record(z.string(), Hex.nullable()),
  })
  .strict();
const Entry = Observed.extend({ backupId: z.string(), time: z.string() }).strict();
const Schema = z
  .object({
    format: z.literal(CHANGES_FORMAT),
    qubes: z.record(z.string(), Entry),
  })
  .strict();

/** What dom0 read of one qube just before a backup. */
export type QubeObservation = z.infer<typeof Observed>;
/** One qube of the record: its observation and the backup that holds it. */
export type QubeEntry = z.infer<typeof Entry>;
/** The whole record. */
export type ChangeRecord = z.infer<typeof Schema>;

/** Raised for a record file that cannot be read. */
export class ChangeRecordError extends Error {
  override name = "ChangeRecordError";
}

/** `<root>/var/lib/qubes-dedup/changes/state.json`. */
export function changeRecordPath(root: string): string {
  return path.join(underRoot(root, STATE_DIR), "changes", "state.json");
}

/** Parses the record's text. Pure. @throws ChangeRecordError naming `file`. */
export function parseChangeRecord(text: string, file: string): ChangeRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ChangeRecordError(`the change record ${file} is not valid JSON; remove it, and the next backup sends every qube.`);
  }
  const r = Schema.safeParse(v);
  if (!r.success) throw new ChangeRecordError(`the change record ${file} is not one (${r.error.issues[0]?.message ?? "bad shape"}); remove it, and the next backup sends every qube.`);
  return r.data;
}

/** The record under `root`, or an empty one when there is none. @throws ChangeRecordError for a damaged file. */
export function readChangeRecord(root: string): ChangeRecord {
  const file = changeRecordPath(root);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { format: CHANGES_FORMAT, qubes: {} };
    throw new ChangeRecordError(`the change record ${file} cannot be read (${(e as Error).message}); check its permissions.`);
  }
  return parseChangeRecord(text, file);
}

/** Writes the record (0600, temp file + rename; directories 0700). */
export function writeChangeRecord(root: string, r: ChangeRecord): void {
  const file = changeRecordPath(root);
  for (const dir of [path.dirname(path.dirname(file)), path.dirname(file)]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(Schema.parse(r))}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The record after backup `backupId` (observed at `time`) that held the qubes `inBackup`. Pure. */
export function afterBackup(r: ChangeRecord, observed: Map<string, QubeObservation>, inBackup: string[], backupId: string, time: Date): ChangeRecord {
  const qubes = { ...r.qubes };
  for (const name of inBackup) {
    const o = observed.get(name);
    if (o) qubes[name] = { ...o, backupId, time: time.toISOString() };
    // A qube in the backup that was not observed (it appeared meanwhile) has no known signals: it stays as it was, so it is sent again.
  }
  return { format: CHANGES_FORMAT, qubes };
}
