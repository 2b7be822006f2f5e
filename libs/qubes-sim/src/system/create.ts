/**
 * Generator of simulated dom0 systems (layout in docs/ARCHITECTURE.md).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { FIREWALL_XML } from "./fixtures.ts";
import { writeVolumeImage, Rng } from "./content.ts";
import { simPaths, saveQubesXml } from "./layout.ts";
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
}

/** What {@link createSystem} writes. */
export interface SystemSpec {
  /** Seed of all content; equal seeds give byte-identical systems. Default "qubes-sim". */
  seed?: string;
  /** The dom0 user whose home is `home/<user>`. Default "user". */
  user?: string;
  /** The qubes (dom0 is always added). Default: {@link defaultQubes}. */
  qubes?: QubeSpec[];
}

/** A small default system: one template, three AppVMs, a few MiB each. */
export function defaultQubes(): QubeSpec[] {
  return [
    { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: 2 * MiB, rootSize: 16 * MiB },
    { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: 8 * MiB, firewall: true },
    { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: 4 * MiB },
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

function labelId(name: string | undefined): string {
  const i = LABELS.findIndex(([, n]) => n === (name ?? "red"));
  if (i < 0) throw new SimError(`Unknown label "${name}"; use one of ${LABELS.map(([, n]) => n).join(", ")}.`);
  return `label-${i + 1}`;
}

/** The `<volume-config>` of a qube on the default lvm_thin pool (Qubes 4). */
function volumeConfig(q: QubeSpec): Record<string, string>[] {
  const vid = (v: string) => `qubes_dom0/vm-${q.name}-${v}`;
  const own = q.klass !== "AppVM";
  const root: Record<string, string> = own
    ? { name: "root", pool: "lvm", revisions_to_keep: "1", rw: "True", save_on_stop: "True", size: String(q.rootSize ?? 0), vid: vid("root") }
    : { name: "root", pool: "lvm", revisions_to_keep: "0", size: "0", snap_on_start: "True", source: `qubes_dom0/vm-${q.template ?? ""}-root`, vid: vid("root") };
  return [
    { name: "kernel", pool: "linux-kernel", revisions_to_keep: "0", vid: "6.6.48-1.qubes.fc37" },
    root,
    { name: "volatile", pool: "lvm", revisions_to_keep: "0", rw: "True", size: String(10 * 1024 * MiB), vid: vid("volatile") },
    { name: "private", pool: "lvm", revisions_to_keep: "2", rw: "True", save_on_stop: "True", size: String(q.privateSize), vid: vid("private") },
  ];
}

function domainOf(q: QubeSpec, qid: number, seed: string): Domain {
  const props: [string, string][] = [["label", labelId(q.label)], ["name", q.name], ["qid", String(qid)], ["uuid", uuidFrom(`${seed}:${q.name}`)]];
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
    domains: [{ id: "domain-0", klass: "AdminVM", properties: [["label", "label-8"]], features: [], tags: [], devices: ["pci", "block", "usb"], volumes: [] }],
  };
}

function writeHome(home: string, seed: string): void {
  const rng = new Rng(`${seed}:home`);
  fs.mkdirSync(path.join(home, "Documents"), { recursive: true });
  fs.writeFileSync(path.join(home, ".bashrc"), "# .bashrc\n[ -f /etc/bashrc ] && . /etc/bashrc\nexport EDITOR=vim\n");
  fs.writeFileSync(path.join(home, "Documents", "notes.txt"), "Backups go to the backup qube every night.\n");
  fs.writeFileSync(path.join(home, "Documents", "wallpaper.bin"), rng.bytes(96 * 1024));
}

/**
 * Writes a simulated system into `root` (created; must be empty or absent):
 * `qubes.xml` (Qubes 4 format, lvm_thin pool), one sparse image per
 * `save_on_stop` volume, `firewall.xml` where asked, and a dom0 home.
 * Content is deterministic from `spec.seed`.
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
    if (q.klass === "AppVM" && !qubes.some((t) => t.name === q.template && t.klass === "TemplateVM")) {
      throw new SimError(`AppVM "${q.name}" names template "${q.template}", which is not a TemplateVM of this system; add it or fix the name.`);
    }
    for (const s of [q.privateSize, q.rootSize ?? 0]) {
      if (s < 0 || s % 4096 !== 0) throw new SimError(`Volume size ${s} of "${q.name}" is not a multiple of 4096 bytes; round it.`);
    }
  }
  const store = baseQubesXml();
  const user = spec.user ?? "user";
  qubes.forEach((q, i) => {
    const qid = i + 1;
    store.domains.push(domainOf(q, qid, seed));
    fs.mkdirSync(p.volumeDir(q.name), { recursive: true });
    writeVolumeImage(p.volume(q.name, "private"), q.privateSize, `${seed}:${q.name}:private`);
    if (q.klass !== "AppVM") writeVolumeImage(p.volume(q.name, "root"), q.rootSize ?? 0, `${seed}:${q.name}:root`);
    if (q.firewall) {
      fs.mkdirSync(path.dirname(p.firewall(q.name)), { recursive: true });
      fs.writeFileSync(p.firewall(q.name), FIREWALL_XML);
    }
  });
  writeHome(path.join(p.homeDir, user), seed);
  saveQubesXml(root, store);
  return store;
}
