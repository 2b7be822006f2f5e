/**
 * The simulated LVM thin pool's metadata: which logical volume exists, its
 * UUID, and which file under the root holds its data. Kept in
 * `$QUBES_SIM_ROOT/lvm/lvs.json` as `{"<vg>/<lv>": {"uuid", "file"}}`
 * (file relative to the root). Keys follow Qubes' lvm_thin driver
 * (qubes-core-admin qubes/storage/lvm.py): the volume `<vid>` (e.g.
 * `qubes_dom0/vm-work-private`), the running qube's `<vid>-snap`, and
 * revisions `<vid>-<unix time>-back`. A commit renames `-snap` over
 * `<vid>`, so the volume then carries the snapshot's UUID: a new one on
 * every commit, import and revert; a resize (`lvextend`) keeps it.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";

/** One logical volume. */
export interface LvEntry {
  /** LVM's UUID, e.g. `cEfwKG-Hk8W-1Xrj-Y0Qj-rb2K-W2Ab-6vMcXR`. */
  uuid: string;
  /** Its data file, relative to the root (`volumes/work/private.img`). */
  file: string;
}

/** Logical volumes by `<vg>/<lv>`. */
export type LvTable = Record<string, LvEntry>;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** An LVM-style UUID (32 characters of [A-Za-z0-9] in groups 6-4-4-4-4-4-6) from `seed`, or random without one. */
export function lvUuid(seed?: string): string {
  const bytes = seed === undefined ? randomBytes(32) : createHash("sha256").update(`lv:${seed}`).digest();
  const chars = [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("");
  const groups = [6, 4, 4, 4, 4, 4, 6];
  let at = 0;
  return groups.map((n) => chars.slice(at, (at += n))).join("-");
}

/** `$QUBES_SIM_ROOT/lvm/lvs.json`. */
export function lvTablePath(root: string): string {
  return path.join(path.resolve(root), "lvm", "lvs.json");
}

/** The table; empty when the system has none yet. @throws SimError for a damaged file. */
export function readLvTable(root: string): LvTable {
  const file = lvTablePath(root);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return {};
  }
  try {
    return JSON.parse(text) as LvTable;
  } catch {
    throw new SimError(`${file} is not valid JSON; recreate the simulated system.`);
  }
}

/** Writes the table atomically (temp file + rename). */
export function writeLvTable(root: string, table: LvTable): void {
  const file = lvTablePath(root);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sorted = Object.fromEntries(Object.entries(table).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(sorted, null, 1)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** One row of `lvs`: volume group, name, UUID and size (bytes, of the data file). */
export interface LvRow {
  vg: string;
  lv: string;
  uuid: string;
  size: number;
}

/** Every logical volume whose data file exists, sorted by vg/lv. */
export function lvRows(root: string): LvRow[] {
  const rows: LvRow[] = [];
  for (const [key, e] of Object.entries(readLvTable(root))) {
    let size: number;
    try {
      size = fs.statSync(path.join(path.resolve(root), e.file)).size;
    } catch {
      continue;
    }
    const slash = key.indexOf("/");
    rows.push({ vg: key.slice(0, slash), lv: key.slice(slash + 1), uuid: e.uuid, size });
  }
  return rows.sort((a, b) => (`${a.vg}/${a.lv}` < `${b.vg}/${b.lv}` ? -1 : 1));
}
