/**
 * Generator of simulated dom0 systems (layout in docs/ARCHITECTURE.md).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { FIREWALL_XML } from "./fixtures.ts";
import { writeVolumeImage, Rng } from "./content.ts";
import { writeExt4Image } from "./ext4.ts";
import { simPaths, saveQubesXml } from "./layout.ts";
import { writeQubesdUnit } from "./qubesd.ts";
import { registerVolumes } from "../dom0/volumes.ts";
import { loadQubesXml } from "./layout.ts";
import { domainName, domainQid } from "./qubes-xml.ts";
import type { Domain, QubesXml } from "./qubes-xml.ts";

const MiB = 1024 * 1024;

/** One qube of a {@link SystemSpec}. */
export interface QubeSpec {
  name: string;
  /** Qubes class; TemplateVM and StandaloneVM save `root` too. */
  klass: "TemplateVM" | "AppVM" | "StandaloneVM";
  /** Template of an AppVM. */
  template?: string;
  /** Label name (red, orange, yellow, green, gray, blue, purple, black). Default "red". */
  label?: string;
  /** Size of the private volume in bytes (multiple of 4096). */
  privateSize: number;
  /** Size of the root volume in bytes (TemplateVM / StandaloneVM only). */
  rootSize?: number;
  /** Write `firewall/<name>/firewall.xml` (the fixture's rules). */
  firewall?: boolean;
  /** The qube's notes (`notes/<name>/notes.txt`); none when absent. */
  notes?: string;
  /**
   * Pool kind of the qube's volumes: "lvm" (lvm_thin: qubesd exports a block
   * device and writes it with its own tar writer) or "file" (file /
   * file-reflink: qubesd exports `…/<volume>.img`, archived by GNU
   * `tar -Pc --sparse`). Default "lvm".
   */
  pool?: PoolKind;
  /**
   * Directories whose trees the volumes hold as real ext4 filesystems
   * (system/ext4.ts; `root` partitioned as a template's): by volume name.
   * Without it a volume holds random content (system/content.ts).
   */
  files?: { private?: string; root?: string };
}

/** How a pool exports a volume to qubesd's backup (see {@link QubeSpec.pool}). */
export type PoolKind = "lvm" | "file";

/** What {@link createSystem} writes. */
export interface SystemSpec {
  /** Seed of all content; equal seeds give byte-identical systems. Default "qubes-sim". */
  seed?: string;
  /** The dom0 user whose home is `home/<user>`. Default "user". */
  user?: string;
  /** The qubes (dom0 is always added). Default: {@link defaultQubes}. */
  qubes?: QubeSpec[];
  /**
   * Also write qubesd's unit file (`usr/lib/systemd/system/qubesd.service`),
   * which makes the simulated qubesd run backups' scrypt with the unit's
   * environment instead of the caller's (see system/qubesd.ts). Default false.
   */
  qubesd?: boolean;
}

/**
 * A small default system: one template, three AppVMs, a few MiB each. Both
 * pool kinds occur (the template and "personal" on a file pool, the others
 * on lvm_thin), and "work" has notes, as on real systems.
 */
export function defaultQubes(): QubeSpec[] {
  return [
    { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: 2 * MiB, rootSize: 16 * MiB, pool: "file" },
    { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: 8 * MiB, firewall: true, notes: "Work qube: mail and documents.\n" },
    { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: 4 * MiB, pool: "file" },
    { name: "vault", klass: "AppVM", template: "fedora-41", label: "black", privateSize: 2 * MiB },
  ];
}

const LABELS: [string, string][] = [
  ["0xcc0000", "red"], ["0xf57900", "orange"], ["0xedd400", "yellow"], ["0x73d216", "green"],
  ["0x555753", "gray"], ["0x3465a4", "blue"], ["0x75507b", "purple"], ["0x000000", "black"],
];

function uuidFrom(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The label property's value: qubesd saves a label by its name (qubes-core-admin
 * qubes/__init__.py `Label.__str__`); older stores (the fixture) have `label-N`.
 */
function labelName(name: string | undefined): string {
  const n = name ?? "red";
  if (!LABELS.some(([, l]) => l === n)) throw new SimError(`Unknown label "${n}"; use one of ${LABELS.map(([, l]) => l).join(", ")}.`);
  return n;
}

/** Pool name in qubes.xml of each kind (see {@link baseQubesXml}). */
const POOL_NAME: Record<PoolKind, string> = { lvm: "lvm", file: "varlibqubes" };

/**
 * One `<volume>`'s attributes as qubesd writes them (qubes-core-admin
 * qubes/storage/__init__.py `Volume.config`): name, pool, vid,
 * revisions_to_keep, rw, save_on_stop, snap_on_start always; size and
 * source when set. lxml writes keyword attributes in name order.
 */
function volumeAttrs(v: { name: string; pool: string; vid: string; revisions: number; rw: boolean; save?: boolean; snap?: boolean; size?: number; source?: string }): Record<string, string> {
  const b = (x: boolean | undefined) => (x ? "True" : "False");
  const a: Record<string, string> = { name: v.name, pool: v.pool, revisions_to_keep: String(v.revisions), rw: b(v.rw), save_on_stop: b(v.save), snap_on_start: b(v.snap), vid: v.vid };
  if (v.size) a.size = String(v.size);
  if (v.source) a.source = v.source;
  return Object.fromEntries(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1)));
}

/** The `<volume-config>` of a qube (Qubes 4), on an lvm_thin or a file pool. */
function volumeConfig(q: QubeSpec): Record<string, string>[] {
  const kind = q.pool ?? "lvm";
  const pool = POOL_NAME[kind];
  const dir = q.klass === "TemplateVM" ? "vm-templates" : "appvms";
  const vid = (name: string, v: string) => (kind === "lvm" ? `qubes_dom0/vm-${name}-${v}` : `${dir}/${name}/${v}`);
  const own = q.klass !== "AppVM";
  const template = q.template ?? "";
  const root = own
    ? volumeAttrs({ name: "root", pool, vid: vid(q.name, "root"), revisions: 1, rw: true, save: true, size: q.rootSize })
    : volumeAttrs({ name: "root", pool, vid: vid(q.name, "root"), revisions: 0, rw: false, snap: true, size: 0, source: kind === "lvm" ? `qubes_dom0/vm-${template}-root` : `vm-templates/${template}/root` });
  return [
    volumeAttrs({ name: "kernel", pool: "linux-kernel", vid: "6.6.48-1.qubes.fc37", revisions: 0, rw: false }),
    root,
    volumeAttrs({ name: "volatile", pool, vid: vid(q.name, "volatile"), revisions: 0, rw: true, size: 10 * 1024 * MiB }),
    volumeAttrs({ name: "private", pool, vid: vid(q.name, "private"), revisions: 2, rw: true, save: true, size: q.privateSize }),
  ];
}

function domainOf(q: QubeSpec, qid: number, seed: string): Domain {
  const props: [string, string][] = [["label", labelName(q.label)], ["name", q.name], ["qid", String(qid)], ["uuid", uuidFrom(`${seed}:${q.name}`)]];
  if (q.klass === "AppVM") props.push(["template", q.template ?? ""]);
  return {
    id: `domain-${qid}`,
    klass: q.klass,
    properties: props,
    features: q.klass === "TemplateVM" ? [["qrexec", "True"], ["gui", "1"]] : [],
    tags: ["created-by-dom0"],
    devices: ["pci", "block", "usb"],
    volumes: volumeConfig(q),
  };
}

/** The store of a fresh system: labels, pools, global properties and dom0. */
export function baseQubesXml(): QubesXml {
  return {
    labels: LABELS.map(([color, name], i) => ({ id: `label-${i + 1}`, color, name })),
    pools: [
      { driver: "lvm_thin", name: "lvm", thin_pool: "pool00", volume_group: "qubes_dom0" },
      { dir_path: "/var/lib/qubes/vm-kernels", driver: "linux-kernel", name: "linux-kernel" },
      { dir_path: "/var/lib/qubes", driver: "file", name: "varlibqubes", revisions_to_keep: "1" },
    ],
    properties: [["default_pool", "lvm"], ["default_kernel", "6.6.48-1.qubes.fc37"]],
    domains: [{ id: "domain-0", klass: "AdminVM", properties: [["label", "black"]], features: [], tags: [], devices: ["pci", "block", "usb"], volumes: [] }],
  };
}

function writeHome(home: string, seed: string): void {
  const rng = new Rng(`${seed}:home`);
  fs.mkdirSync(path.join(home, "Documents"), { recursive: true });
  fs.writeFileSync(path.join(home, ".bashrc"), "# .bashrc\n[ -f /etc/bashrc ] && . /etc/bashrc\nexport EDITOR=vim\n");
  fs.writeFileSync(path.join(home, "Documents", "notes.txt"), "Backups go to the backup qube every night.\n");
  fs.writeFileSync(path.join(home, "Documents", "wallpaper.bin"), rng.bytes(96 * 1024));
}

function checkSpec(q: QubeSpec, templates: QubeSpec[]): void {
  if (q.klass === "AppVM" && !templates.some((t) => t.name === q.template && t.klass === "TemplateVM")) {
    throw new SimError(`AppVM "${q.name}" names template "${q.template}", which is not a TemplateVM of this system; add it or fix the name.`);
  }
  labelName(q.label);
  for (const s of [q.privateSize, q.rootSize ?? 0]) {
    if (s < 0 || s % 4096 !== 0) throw new SimError(`Volume size ${s} of "${q.name}" is not a multiple of 4096 bytes; round it.`);
  }
}

/** Writes a qube's volume images, firewall and notes (content from `seed`). */
function writeQubeFiles(root: string, q: QubeSpec, seed: string): void {
  const p = simPaths(root);
  fs.mkdirSync(p.volumeDir(q.name), { recursive: true });
  if (q.files?.private) writeExt4Image(p.volume(q.name, "private"), q.privateSize, q.files.private);
  else writeVolumeImage(p.volume(q.name, "private"), q.privateSize, `${seed}:${q.name}:private`);
  if (q.klass !== "AppVM" && q.files?.root) writeExt4Image(p.volume(q.name, "root"), q.rootSize ?? 0, q.files.root, { partitioned: true });
  else if (q.klass !== "AppVM") writeVolumeImage(p.volume(q.name, "root"), q.rootSize ?? 0, `${seed}:${q.name}:root`);
  if (q.firewall) {
    fs.mkdirSync(path.dirname(p.firewall(q.name)), { recursive: true });
    fs.writeFileSync(p.firewall(q.name), FIREWALL_XML);
  }
  if (q.notes !== undefined) {
    fs.mkdirSync(path.dirname(p.notes(q.name)), { recursive: true });
    fs.writeFileSync(p.notes(q.name), q.notes);
  }
}

/**
 * Writes a simulated system into `root` (created; must be empty or absent):
 * `qubes.xml` (Qubes 4 format, lvm_thin pool), one sparse image per
 * `save_on_stop` volume (and its LV in `lvm/lvs.json` on lvm_thin),
 * `firewall.xml` where asked, and a dom0 home. Content is deterministic
 * from `spec.seed`.
 * @returns the written store.
 * @throws SimError when root is not empty, names repeat, a template is
 *   missing or a size is not a multiple of 4096 bytes.
 */
export function createSystem(root: string, spec: SystemSpec = {}): QubesXml {
  const seed = spec.seed ?? "qubes-sim";
  const qubes = spec.qubes ?? defaultQubes();
  const p = simPaths(root);
  if (fs.existsSync(p.root) && fs.readdirSync(p.root).length > 0) {
    throw new SimError(`${p.root} is not empty; choose a new directory for the simulated system.`);
  }
  const names = new Set<string>();
  for (const q of qubes) {
    if (names.has(q.name) || q.name === "dom0") throw new SimError(`Qube name "${q.name}" is used twice; give every qube its own name.`);
    names.add(q.name);
    checkSpec(q, qubes);
  }
  const store = baseQubesXml();
  const user = spec.user ?? "user";
  qubes.forEach((q, i) => {
    const d = domainOf(q, i + 1, seed);
    store.domains.push(d);
    writeQubeFiles(root, q, seed);
    registerVolumes(root, store, d, seed);
  });
  writeHome(path.join(p.homeDir, user), seed);
  if (spec.qubesd) writeQubesdUnit(root);
  saveQubesXml(root, store);
  return store;
}

/**
 * Adds qube `q` to an existing system (`qvm-create`): the next free qid,
 * content from `seed` (default "added"), new LV UUIDs.
 * @returns the new qube's qid.
 * @throws SimError when the name is taken, or as {@link createSystem} does.
 */
export function addQube(root: string, q: QubeSpec, seed = "added"): number {
  const store = loadQubesXml(root);
  if (q.name === "dom0" || store.domains.some((d) => domainName(d) === q.name)) throw new SimError(`Qube "${q.name}" already exists; choose another name.`);
  const templates: QubeSpec[] = store.domains.filter((d) => d.klass === "TemplateVM").map((d) => ({ name: domainName(d), klass: "TemplateVM", privateSize: 0 }));
  checkSpec(q, templates);
  const qid = Math.max(0, ...store.domains.map(domainQid)) + 1;
  const d = domainOf(q, qid, seed);
  store.domains.push(d);
  writeQubeFiles(root, q, seed);
  registerVolumes(root, store, d);
  saveQubesXml(root, store);
  return qid;
}
