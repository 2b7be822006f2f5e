/**
 * What a backup contains, decided as qubesd's `Backup.get_files_to_backup`
 * does (QubesOS/qubes-core-admin qubes/backup.py): per qube `vm<qid>/`, each
 * `save_on_stop` volume as `<volume>.img` (size = the volume's usage, here
 * the allocated bytes of the sparse image), then `firewall.xml` and
 * `notes.txt` when present; dom0's home as `dom0-home/<user>` (size = disk
 * usage, recursively).
 *
 * How a volume is archived follows from its pool: qubesd uses its own tar
 * writer when the exported path is a block device or is not named
 * `<volume>.img` (lvm_thin exports `/dev/qubes_dom0/…`), and GNU
 * `tar -Pc --sparse` otherwise (file and file-reflink pools export
 * `<dir>/<vid>.img`, whose name is `<volume>.img`).
 */
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { dom0User, simPaths } from "../system/layout.ts";
import { domainName, domainQid, getProp, savedVolumes, setProp, type Domain, type QubesXml } from "../system/qubes-xml.ts";

/** One file of the backup. */
export interface PlannedFile {
  /** `volume` uses Qubes' tar writer (LVM-like pools); `file` (also file-pool volumes) and `dir` use GNU tar. */
  kind: "volume" | "file" | "dir";
  /** Source path on the simulated system. */
  source: string;
  /** Directory in the archive: `vm3/`, `dom0-home/` or "" (qubes.xml). */
  subdir: string;
  /** Name in the archive: `private.img`, `firewall.xml`, the user name, … */
  name: string;
  /** Bytes counted towards `backup-size` and progress. */
  size: number;
}

/** One qube of the backup. */
export interface PlannedQube {
  domain: Domain;
  name: string;
  /** `backup-path`: `vm<qid>/` or `dom0-home/<user>`. */
  path: string;
  files: PlannedFile[];
  /** `backup-size`: sum of the files' sizes. */
  size: number;
}

/** Disk usage like Qubes' `get_disk_usage`: st_blocks * 512, recursively. */
export function diskUsage(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  let total = st.blocks * 512;
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) total += diskUsage(path.join(p, e));
  return total;
}

/**
 * Chooses the qubes: `include` (names, "dom0" for the AdminVM) or every
 * qube whose `include_in_backups` is not False; `exclude` removes names.
 * Order as qubesd writes them: an explicit list in qid order (qubesd
 * resolves the profile's names against its qid-keyed domain collection),
 * without a list by name (`app.domains` iterates VMs sorted by name); dom0's
 * home comes last either way.
 * @throws SimError naming an unknown qube.
 */
export function selectDomains(store: QubesXml, include: string[], exclude: string[]): Domain[] {
  const byName = new Map(store.domains.map((d) => [domainName(d), d]));
  for (const n of include) {
    if (!byName.has(n)) throw new SimError(`Qube "${n}" does not exist; check the name (qubes.xml lists the qubes of this system).`);
  }
  const chosen = include.length
    ? include.map((n) => byName.get(n)!)
    : store.domains.filter((d) => getProp(d.properties, "include_in_backups") !== "False");
  const unique = [...new Set(chosen)].filter((d) => !exclude.includes(domainName(d)));
  const byOrder = include.length ? (a: Domain, b: Domain) => domainQid(a) - domainQid(b) : (a: Domain, b: Domain) => compareNames(domainName(a), domainName(b));
  return unique.sort((a, b) => Number(domainQid(a) === 0) - Number(domainQid(b) === 0) || byOrder(a, b));
}

/** Python's string order (code points), which qubesd's sorting uses. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Pool drivers whose volumes qubesd exports as `<dir>/<vid>.img` files. */
const FILE_DRIVERS = new Set(["file", "file-reflink"]);

/** Whether a volume of `d` lives on a file or file-reflink pool of `store`. */
export function isFilePoolVolume(store: QubesXml, d: Domain, volume: string): boolean {
  const pool = d.volumes.find((v) => v.name === volume)?.pool;
  const driver = store.pools.find((p) => p.name === pool)?.driver;
  return driver !== undefined && FILE_DRIVERS.has(driver);
}

/**
 * The files of each selected qube.
 * @throws SimError when a volume image or dom0's home is missing.
 */
export function planFiles(root: string, store: QubesXml, domains: Domain[], emptyFile: string): PlannedQube[] {
  const p = simPaths(root);
  return domains.map((d) => {
    const name = domainName(d);
    if (domainQid(d) === 0) {
      const user = dom0User(root);
      if (!user) throw new SimError(`dom0 has no home directory under ${p.homeDir}; create home/<user> or exclude dom0.`);
      const home = path.join(p.homeDir, user);
      const size = diskUsage(home);
      return { domain: d, name, path: `dom0-home/${user}`, size, files: [{ kind: "dir", source: home, subdir: "dom0-home/", name: user, size }] };
    }
    const subdir = `vm${domainQid(d)}/`;
    const files: PlannedFile[] = savedVolumes(d).map((v) => {
      const source = p.volume(name, v);
      if (!fs.existsSync(source)) throw new SimError(`Volume ${v} of qube "${name}" is missing (${source}); recreate it or exclude the qube.`);
      return { kind: isFilePoolVolume(store, d, v) ? "file" : "volume", source, subdir, name: `${v}.img`, size: diskUsage(source) };
    });
    for (const [extra, file] of [["firewall.xml", p.firewall(name)], ["notes.txt", p.notes(name)]] as const) {
      if (fs.existsSync(file)) files.push({ kind: "file", source: file, subdir, name: extra, size: diskUsage(file) });
    }
    // Qubes adds an empty file so that vm<qid>/ exists in the archive.
    if (files.length === 0) files.push({ kind: "file", source: emptyFile, subdir, name: "empty", size: 0 });
    return { domain: d, name, path: subdir, files, size: files.reduce((a, f) => a + f.size, 0) };
  });
}

/**
 * The `qubes.xml` stored in the backup: a copy of the live store where every
 * qube gets `backup-content` = "" and each backed-up one `backup-content` =
 * "1", `backup-path` and `backup-size` (qubesd sets them through
 * `vm.features`, which stores booleans as "1" / "").
 */
export function backupStore(store: QubesXml, planned: PlannedQube[]): QubesXml {
  const copy: QubesXml = structuredClone(store);
  for (const d of copy.domains) setProp(d.features, "backup-content", "");
  for (const q of planned) {
    const d = copy.domains.find((x) => x.id === q.domain.id)!;
    setProp(d.features, "backup-content", "1");
    setProp(d.features, "backup-path", q.path);
    setProp(d.features, "backup-size", String(q.size));
  }
  return copy;
}
