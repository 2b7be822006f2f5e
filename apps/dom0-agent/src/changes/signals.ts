/**
 * The change signal of each saved volume, read in dom0 before a backup
 * starts (DESIGN.md: a volume's exported content changes only with a
 * commit, an import, a revert, a resize or a clone):
 *
 * - lvm_thin: the LV's UUID and size (`lvs`); every commit, import, revert
 *   and clone makes a new LV, a resize (`lvextend`) changes the size;
 * - file and file-reflink: `<dir_path>/<vid>.img`'s inode, mtime, ctime
 *   and size; a commit renames the dirty file over it (new inode), writes
 *   in place change mtime and ctime, and ctime, which no tool can set back,
 *   also covers an inode number reused by a later file or an mtime
 *   restored by a copy tool;
 * - dom0's home: a digest of every entry's path, type, size, inode, mtime
 *   and ctime under `/home` (lstat, not followed);
 * - firewall.xml and notes.txt (backed up with the qube): their SHA-256.
 *
 * Anything else (another pool driver, a missing LV, an unreadable file) is
 * `unknown` with the reason, and such a qube is always backed up.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { LiveQube, Pool } from "./store-xml.ts";

/** One volume's signal, or why there is none. */
export type VolumeSignal =
  | { kind: "lvm"; lv: string; uuid: string; size: number }
  | { kind: "file"; ino: string; mtimeNs: string; ctimeNs: string; size: number }
  | { kind: "tree"; digest: string; entries: number }
  | { kind: "unknown"; why: string };

/** An LV as `lvs` lists it. */
export interface LvInfo {
  uuid: string;
  size: number;
}

/**
 * Parses `lvs --noheadings --separator '|' --units b --nosuffix -o
 * vg_name,lv_name,lv_uuid,lv_size` (rows start with spaces). Pure.
 * @returns LVs by `<vg>/<lv>`; malformed rows are left out.
 */
export function parseLvs(text: string): Map<string, LvInfo> {
  const out = new Map<string, LvInfo>();
  for (const line of text.split("\n")) {
    const f = line.trim().split("|");
    if (f.length !== 4 || !/^\d+$/.test(f[3]!)) continue;
    out.set(`${f[0]}/${f[1]}`, { uuid: f[2]!, size: Number(f[3]) });
  }
  return out;
}

/** The arguments of the `lvs` call {@link parseLvs} reads. */
export const LVS_ARGS = ["--noheadings", "--separator", "|", "--units", "b", "--nosuffix", "-o", "vg_name,lv_name,lv_uuid,lv_size"];

/** `p`'s file signal (stat follows symbolic links, as qubesd opens the path). */
export function fileSignal(p: string): VolumeSignal {
  try {
    const st = fs.statSync(p, { bigint: true });
    if (!st.isFile()) return { kind: "unknown", why: `${p} is not a regular file` };
    return { kind: "file", ino: String(st.ino), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), size: Number(st.size) };
  } catch (e) {
    return { kind: "unknown", why: `${p} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

/** The digest of a directory tree (lstat of every entry, sorted), for dom0's home. */
export function treeSignal(dir: string): VolumeSignal {
  const h = createHash("sha256");
  let entries = 0;
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p, { bigint: true });
      entries++;
      h.update(`${path.relative(dir, p)}\0${st.mode}\0${st.size}\0${st.ino}\0${st.mtimeNs}\0${st.ctimeNs}\n`);
      if (st.isDirectory()) walk(p);
    }
  };
  try {
    walk(dir);
  } catch (e) {
    return { kind: "unknown", why: `${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  return { kind: "tree", digest: h.digest("hex"), entries };
}

/** SHA-256 of a small file, or null when it does not exist. @throws for other read errors. */
export function fileDigest(p: string): string | null {
  try {
    return createHash("sha256").update(fs.readFileSync(p)).digest("hex");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** Where dom0 keeps what `lvs` said: the table, or why it could not be read. */
export type LvsResult = { ok: true; lvs: Map<string, LvInfo> } | { ok: false; why: string };

/**
 * The signals of `q`'s saved volumes (`save_on_stop`), by volume name.
 * `root` is the agent's --root (system paths are taken inside it).
 */
export function volumeSignals(root: string, q: LiveQube, pools: Pool[], lvs: () => LvsResult): Record<string, VolumeSignal> {
  const out: Record<string, VolumeSignal> = {};
  for (const v of q.volumes) {
    if (v.save_on_stop !== "True" || !v.name) continue;
    const pool = pools.find((p) => p.name === v.pool);
    if (!pool) out[v.name] = { kind: "unknown", why: `its pool "${v.pool ?? ""}" is not in qubes.xml` };
    else if (!v.vid) out[v.name] = { kind: "unknown", why: "it has no vid in qubes.xml" };
    else if (pool.driver === "lvm_thin") {
      const r = lvs();
      const lv = r.ok ? r.lvs.get(v.vid) : undefined;
      out[v.name] = !r.ok ? { kind: "unknown", why: r.why } : lv ? { kind: "lvm", lv: v.vid, uuid: lv.uuid, size: lv.size } : { kind: "unknown", why: `lvs lists no volume ${v.vid}` };
    } else if (pool.driver === "file" || pool.driver === "file-reflink") {
      out[v.name] = pool.dirPath ? fileSignal(path.join(root, pool.dirPath, `${v.vid}.img`)) : { kind: "unknown", why: `pool ${pool.name} has no dir_path` };
    } else out[v.name] = { kind: "unknown", why: `pool ${pool.name} has driver ${pool.driver}, which gives no change signal` };
  }
  return out;
}

/** Qubes' directory of a qube (qubes-core-admin `QubesVM.dir_path`), inside `root`. */
export function qubeDir(root: string, q: LiveQube): string {
  return path.join(root, "var/lib/qubes", q.klass === "TemplateVM" ? "vm-templates" : "appvms", q.name);
}
