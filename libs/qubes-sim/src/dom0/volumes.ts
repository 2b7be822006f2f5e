/**
 * The life of a qube's volumes on the simulated dom0, as Qubes' storage
 * drivers lead it (qubes-core-admin qubes/storage/lvm.py and reflink.py;
 * DESIGN.md "A volume's exported content is its last committed state"):
 *
 * - start: each `save_on_stop` volume gets a copy the running qube writes
 *   to: `<volume>-snap.img` (LV `<vid>-snap`, a new UUID) on lvm_thin,
 *   `<volume>-dirty.img` on file and file-reflink pools;
 * - shutdown commits it: the clean volume becomes the newest revision
 *   (when `revisions_to_keep` > 0; LV `<vid>-<unix time>-back`, file
 *   `<volume>.img@<unix time>`) and the copy is renamed over it, so the
 *   volume has a new inode, and on lvm_thin the snapshot's UUID;
 * - revert (a revision back), import (new content), both only while the
 *   qube is halted, and a commit each: new inode / UUID;
 * - resize: grows the volume (and a running qube's copy) in place: same
 *   inode and UUID, new size.
 *
 * `qvm-backup` reads only the clean `<volume>.img`, so a running qube is
 * backed up as of its last stop. One sim model serves both file drivers.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { loadQubesXml, saveQubesXml, simPaths } from "../system/layout.ts";
import { domainName, savedVolumes, type Domain, type QubesXml } from "../system/qubes-xml.ts";
import { lvUuid, readLvTable, writeLvTable, type LvTable } from "./lvm.ts";

/** How a pool keeps a volume: an lvm_thin logical volume, or a file (file, file-reflink). */
export type VolumeDriver = "lvm" | "file";

/** The driver of `volume` of `d`, or undefined for a pool the simulator does not model. */
export function volumeDriver(store: QubesXml, d: Domain, volume: string): VolumeDriver | undefined {
  const pool = d.volumes.find((v) => v.name === volume)?.pool;
  const driver = store.pools.find((p) => p.name === pool)?.driver;
  if (driver === "lvm_thin") return "lvm";
  return driver === "file" || driver === "file-reflink" ? "file" : undefined;
}

/** Whether qube `name` is running. */
export function isRunning(root: string, name: string): boolean {
  return fs.existsSync(simPaths(root).running(name));
}

/** The running qubes, sorted by name. */
export function runningQubes(root: string): string[] {
  try {
    return fs.readdirSync(path.join(simPaths(root).root, "running")).sort();
  } catch {
    return [];
  }
}

/** Where a running qube writes volume `volume` (`-snap.img` on lvm_thin, `-dirty.img` on file pools). @throws SimError when it is not running. */
export function runningVolumePath(root: string, qube: string, volume: string): string {
  const { store, d } = domainOf(root, qube);
  if (!isRunning(root, qube)) throw new SimError(`Qube "${qube}" is not running; start it first.`);
  return copyPath(root, qube, volume, volumeDriver(store, d, volume) === "lvm" ? "snap" : "dirty");
}

function copyPath(root: string, qube: string, volume: string, suffix: string): string {
  return path.join(simPaths(root).volumeDir(qube), `${volume}-${suffix}.img`);
}

function domainOf(root: string, name: string): { store: QubesXml; d: Domain } {
  const store = loadQubesXml(root);
  const d = store.domains.find((x) => domainName(x) === name);
  if (!d || name === "dom0") throw new SimError(`no such domain: '${name}'`);
  return { store, d };
}

function attrsOf(d: Domain, volume: string): Record<string, string> {
  const a = d.volumes.find((v) => v.name === volume);
  if (!a || a.save_on_stop !== "True") throw new SimError(`Qube "${domainName(d)}" has no saved volume "${volume}".`);
  return a;
}

/** A copy with the same holes (and shared extents where the file system can), as a thin snapshot or reflink copy has. */
function cowCopy(from: string, to: string): void {
  const r = spawnSync("cp", ["--reflink=auto", "--sparse=auto", from, to], { encoding: "utf8" });
  if (r.status !== 0) throw new SimError(`Cannot copy ${from} (${(r.stderr || r.error?.message || "").trim()}); check the disk space.`);
}

const rel = (root: string, p: string) => path.relative(simPaths(root).root, p);

/** The volume's revisions, oldest first: `{time, file, key?}` (key: the LV of an lvm_thin revision). */
function revisions(root: string, store: QubesXml, d: Domain, volume: string): { time: number; file: string; key?: string }[] {
  const name = domainName(d);
  if (volumeDriver(store, d, volume) === "lvm") {
    const vid = attrsOf(d, volume).vid!;
    return Object.entries(readLvTable(root))
      .map(([key, e]) => ({ key, file: path.join(simPaths(root).root, e.file), m: new RegExp(`^${vid.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)-back$`).exec(key) }))
      .filter((r) => r.m)
      .map((r) => ({ time: Number(r.m![1]), file: r.file, key: r.key }))
      .sort((a, b) => a.time - b.time);
  }
  const dir = simPaths(root).volumeDir(name);
  const prefix = `${volume}.img@`;
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
    .map((f) => ({ time: Number(f.slice(prefix.length)), file: path.join(dir, f) }))
    .sort((a, b) => a.time - b.time);
}

/**
 * Commits `staged` (a file in the qube's volume directory; on lvm_thin the
 * LV `stagedKey`, or a new one) as the volume's content: the clean volume
 * becomes the newest revision (`keepOld` and revisions_to_keep > 0) or
 * goes, `staged` is renamed over it, and revisions beyond
 * revisions_to_keep are removed, oldest first.
 */
function commit(root: string, store: QubesXml, d: Domain, volume: string, staged: string, stagedKey: string | undefined, now: Date, keepOld = true): void {
  const name = domainName(d);
  const a = attrsOf(d, volume);
  const keep = Number(a.revisions_to_keep ?? 0);
  const clean = simPaths(root).volume(name, volume);
  const lvm = volumeDriver(store, d, volume) === "lvm";
  const taken = new Set(revisions(root, store, d, volume).map((r) => r.time));
  let t = Math.floor(now.getTime() / 1000);
  while (taken.has(t)) t++;
  const table = readLvTable(root);
  if (keepOld && keep > 0 && fs.existsSync(clean)) {
    const rev = lvm ? copyPath(root, name, volume, `${t}-back`) : `${clean}@${t}`;
    fs.renameSync(clean, rev);
    if (lvm) table[`${a.vid}-${t}-back`] = { uuid: table[a.vid!]?.uuid ?? lvUuid(), file: rel(root, rev) };
  }
  fs.renameSync(staged, clean);
  if (!lvm) return prune(root, store, d, volume, keep);
  table[a.vid!] = { uuid: (stagedKey && table[stagedKey]?.uuid) || lvUuid(), file: rel(root, clean) };
  if (stagedKey) delete table[stagedKey];
  writeLvTable(root, table);
  prune(root, store, d, volume, keep);
}

function prune(root: string, store: QubesXml, d: Domain, volume: string, keep: number): void {
  const all = revisions(root, store, d, volume);
  const drop = all.slice(0, Math.max(0, all.length - keep));
  if (drop.length === 0) return;
  const table = readLvTable(root);
  for (const r of drop) {
    fs.rmSync(r.file, { force: true });
    if (r.key) delete table[r.key];
  }
  if (drop.some((r) => r.key)) writeLvTable(root, table);
}

function mustBeHalted(root: string, name: string, what: string): void {
  if (isRunning(root, name)) throw new SimError(`Cannot ${what} of qube "${name}" while it is running; shut it down first.`);
}

/** `qvm-start`: the qube runs; each saved volume gets its copy to write to. @throws SimError when it runs already or does not exist. */
export function startQube(root: string, name: string): void {
  const { store, d } = domainOf(root, name);
  if (isRunning(root, name)) throw new SimError(`Qube "${name}" is already running.`);
  const table = readLvTable(root);
  for (const v of savedVolumes(d)) {
    const lvm = volumeDriver(store, d, v) === "lvm";
    const copy = copyPath(root, name, v, lvm ? "snap" : "dirty");
    cowCopy(simPaths(root).volume(name, v), copy);
    if (lvm) table[`${attrsOf(d, v).vid}-snap`] = { uuid: lvUuid(), file: rel(root, copy) };
  }
  writeLvTable(root, table);
  fs.mkdirSync(path.dirname(simPaths(root).running(name)), { recursive: true });
  fs.writeFileSync(simPaths(root).running(name), "");
}

/** `qvm-shutdown --wait`: commits every saved volume and stops the qube. @throws SimError when it is not running. */
export function shutdownQube(root: string, name: string, now = new Date()): void {
  const { store, d } = domainOf(root, name);
  if (!isRunning(root, name)) throw new SimError(`Qube "${name}" is not running.`);
  for (const v of savedVolumes(d)) {
    const lvm = volumeDriver(store, d, v) === "lvm";
    commit(root, store, d, v, copyPath(root, name, v, lvm ? "snap" : "dirty"), lvm ? `${attrsOf(d, v).vid}-snap` : undefined, now);
  }
  fs.rmSync(simPaths(root).running(name));
}

/** `qvm-volume revert QUBE:VOLUME`: the newest revision becomes the volume's content (a commit). @throws SimError when running or without revisions. */
export function revertVolume(root: string, name: string, volume: string, now = new Date()): void {
  const { store, d } = domainOf(root, name);
  mustBeHalted(root, name, `revert volume ${volume}`);
  const newest = revisions(root, store, d, volume).at(-1);
  if (!newest) throw new SimError(`Volume ${volume} of qube "${name}" has no revision to revert to.`);
  const staged = copyPath(root, name, volume, "revert");
  cowCopy(newest.file, staged);
  if (newest.key) {
    const table = readLvTable(root);
    delete table[newest.key];
    writeLvTable(root, table);
  }
  fs.rmSync(newest.file);
  // The reverted-to revision is consumed and the replaced content is not kept.
  commit(root, store, d, volume, staged, undefined, now, false);
}

/** `qvm-volume import QUBE:VOLUME FILE`: `source`'s bytes become the volume (a commit; the size follows). @throws SimError when running. */
export function importVolume(root: string, name: string, volume: string, source: string, now = new Date()): void {
  const { store, d } = domainOf(root, name);
  mustBeHalted(root, name, `import into volume ${volume}`);
  const staged = copyPath(root, name, volume, "import");
  cowCopy(source, staged);
  attrsOf(d, volume).size = String(fs.statSync(staged).size);
  commit(root, store, d, volume, staged, undefined, now);
  saveQubesXml(root, store);
}

/** `qvm-volume resize QUBE:VOLUME SIZE`: grows the volume in place (and a running qube's copy). @throws SimError on shrinking or a size not a multiple of 4096. */
export function resizeVolume(root: string, name: string, volume: string, size: number): void {
  const { store, d } = domainOf(root, name);
  const a = attrsOf(d, volume);
  const clean = simPaths(root).volume(name, volume);
  if (size % 4096 !== 0) throw new SimError(`Size ${size} is not a multiple of 4096 bytes; round it.`);
  if (size < fs.statSync(clean).size) throw new SimError(`Volume ${volume} of qube "${name}" cannot shrink (${fs.statSync(clean).size} to ${size} bytes); Qubes refuses it to protect the data.`);
  fs.truncateSync(clean, size);
  if (isRunning(root, name)) fs.truncateSync(runningVolumePath(root, name, volume), size);
  a.size = String(size);
  saveQubesXml(root, store);
}

/** Registers a new LV (seeded UUID when `seed` is given) for each saved lvm_thin volume of `d`. */
export function registerVolumes(root: string, store: QubesXml, d: Domain, seed?: string): void {
  const table = readLvTable(root);
  for (const v of savedVolumes(d)) {
    if (volumeDriver(store, d, v) !== "lvm") continue;
    const vid = attrsOf(d, v).vid!;
    table[vid] = { uuid: lvUuid(seed === undefined ? undefined : `${seed}:${vid}`), file: rel(root, simPaths(root).volume(domainName(d), v)) };
  }
  writeLvTable(root, table);
}

/** Forgets the LVs of `d` (the qube and its volume files are gone). */
export function unregisterVolumes(root: string, d: Domain): void {
  const vids = d.volumes.map((v) => v.vid).filter((v): v is string => !!v);
  const table = readLvTable(root);
  for (const key of Object.keys(table)) if (vids.some((vid) => key === vid || key.startsWith(`${vid}-`))) delete table[key];
  writeLvTable(root, table);
}
