/**
 * Which qubes a restore takes from the backup's `qubes.xml` (those with a
 * non-empty `backup-content` feature, as Qubes' Core3 loader reads it), how
 * name conflicts are handled (rename as Qubes does: `<name>-1`, `-2`, …),
 * and how restored qubes enter the live `qubes.xml`.
 */
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { SimError } from "../errors.ts";
import { baseQubesXml } from "../system/create.ts";
import { loadQubesXml, saveQubesXml, simPaths } from "../system/layout.ts";
import { registerVolumes } from "../dom0/volumes.ts";
import { deleteProp, domainName, domainQid, getProp, savedVolumes, setProp, type Domain, type QubesXml } from "../system/qubes-xml.ts";

/** One qube to restore. */
export interface RestorePlanItem {
  name: string;
  restoredAs: string;
  isDom0: boolean;
  /** `backup-path` (e.g. `vm3/`, `dom0-home/user`). */
  path: string;
  /** Volumes with data in the backup (`save_on_stop`). */
  volumes: string[];
  domain: Domain;
}

interface Choice {
  conflict?: "error" | "rename" | "skip";
  qubes?: string[];
  exclude?: string[];
  paranoid?: boolean;
  root: string;
}

function newName(name: string, taken: Set<string>): string {
  const base = name.slice(0, 29);
  for (let n = 1; n < 100; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
  throw new SimError(`No free name for restoring "${name}"; rename or remove the existing qubes.`);
}

/**
 * Plans the restore.
 * @throws SimError on a requested qube that is not in the backup, or a
 *   conflict when neither rename nor skip was asked for.
 */
export function chooseQubes(o: Choice, backup: QubesXml): { plan: RestorePlanItem[]; skipped: string[]; live: QubesXml } {
  const live = fs.existsSync(simPaths(o.root).qubesXml) ? loadQubesXml(o.root) : baseQubesXml();
  const inBackup = backup.domains.filter((d) => (getProp(d.features, "backup-content") ?? "") !== "");
  const byName = new Map(inBackup.map((d) => [domainName(d), d]));
  for (const n of o.qubes ?? []) {
    if (!byName.has(n)) throw new SimError(`Qube "${n}" is not in this backup; list the backup's qubes with --verify-only.`);
  }
  const wanted = (o.qubes?.length ? o.qubes.map((n) => byName.get(n)!) : inBackup).filter((d) => !(o.exclude ?? []).includes(domainName(d)));
  const taken = new Set(live.domains.map(domainName));
  const plan: RestorePlanItem[] = [];
  const skipped: string[] = [];
  const conflicts: string[] = [];
  for (const d of wanted) {
    const name = domainName(d);
    const isDom0 = domainQid(d) === 0;
    if (isDom0 && o.paranoid) {
      skipped.push(name);
      continue;
    }
    let restoredAs = name;
    if (!isDom0 && taken.has(name)) {
      if (o.conflict === "skip") {
        skipped.push(name);
        continue;
      }
      if (o.conflict !== "rename") {
        conflicts.push(name);
        continue;
      }
      restoredAs = newName(name, taken);
    }
    taken.add(restoredAs);
    const p = getProp(d.features, "backup-path") ?? "";
    plan.push({ name, restoredAs, isDom0, path: p, volumes: isDom0 ? [] : savedVolumes(d), domain: d });
  }
  if (conflicts.length) {
    throw new SimError(`Qube(s) ${conflicts.join(", ")} already exist; restore them with --rename-conflicting or --skip-conflicting.`);
  }
  // Templates first, as Qubes restores them.
  plan.sort((a, b) => Number(b.domain.klass === "TemplateVM") - Number(a.domain.klass === "TemplateVM"));
  return { plan, skipped, live };
}

/**
 * The planned qubes whose template is neither on the machine (`live`) nor
 * restored by this run: the stock restore then falls back to the default
 * template (with `--ignore-missing`) or refuses the qube; the simulator
 * only reports them, so restores into an empty root keep working. Pure.
 */
export function missingTemplates(plan: RestorePlanItem[], live: QubesXml): { name: string; template: string }[] {
  const have = new Set([...live.domains.map(domainName), ...plan.map((p) => p.name)]);
  return plan.flatMap((p) => {
    const template = getProp(p.domain.properties, "template");
    return template && !have.has(template) ? [{ name: p.name, template }] : [];
  });
}

function liveDomain(item: RestorePlanItem, qid: number, renamed: Map<string, string>): Domain {
  const d: Domain = structuredClone(item.domain);
  d.id = `domain-${qid}`;
  setProp(d.properties, "qid", String(qid));
  setProp(d.properties, "name", item.restoredAs);
  if (item.restoredAs !== item.name) setProp(d.properties, "uuid", randomUUID());
  const template = getProp(d.properties, "template");
  if (template && renamed.has(template)) setProp(d.properties, "template", renamed.get(template)!);
  for (const f of ["backup-content", "backup-path", "backup-size"]) deleteProp(d.features, f);
  for (const v of d.volumes) if (v.vid) v.vid = v.vid.replace(`vm-${item.name}-`, `vm-${item.restoredAs}-`).replace(`/${item.name}/`, `/${item.restoredAs}/`);
  return d;
}

/**
 * Moves staged data into place and adds the restored qubes to the live
 * `qubes.xml` (fresh qids), then saves it.
 * @param homeRestore dom0 home target, relative to the root.
 */
export function applyRestore(root: string, live: QubesXml, _backup: QubesXml, plan: RestorePlanItem[], staging: string, homeRestore: string): void {
  const p = simPaths(root);
  const renamed = new Map(plan.filter((i) => i.restoredAs !== i.name && i.domain.klass === "TemplateVM").map((i) => [i.name, i.restoredAs]));
  let qid = Math.max(0, ...live.domains.map(domainQid)) + 1;
  for (const item of plan) {
    if (item.isDom0) {
      const dest = path.join(p.root, homeRestore);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(path.join(staging, "dom0-home"), dest);
      continue;
    }
    fs.mkdirSync(p.volumeDir(item.restoredAs), { recursive: true });
    for (const v of item.volumes) fs.renameSync(path.join(staging, item.restoredAs, `${v}.img`), p.volume(item.restoredAs, v));
    for (const [name, dest] of [["firewall.xml", p.firewall(item.restoredAs)], ["notes.txt", p.notes(item.restoredAs)]] as const) {
      const staged = path.join(staging, item.restoredAs, name);
      if (!fs.existsSync(staged)) continue;
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(staged, dest);
    }
    const d = liveDomain(item, qid++, renamed);
    live.domains.push(d);
    // A restore creates new volumes: new LVs with new UUIDs on lvm_thin.
    registerVolumes(root, live, d);
  }
  saveQubesXml(root, live);
}
