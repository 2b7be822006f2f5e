/**
 * Settings of the simulated qubes (what `qvm-prefs`, `qvm-features` and a
 * rename change in the live `qubes.xml`): properties and features of a
 * qube, and its name. A rename is Qubes 4.0's in-place one: the qube keeps
 * its qid, uuid and data (volume files move, LVs are renamed and keep
 * their UUIDs), only the name, the volumes' vids and its directories change.
 */
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { loadQubesXml, saveQubesXml, simPaths } from "../system/layout.ts";
import { deleteProp, domainName, getProp, setProp, type Domain, type QubesXml } from "../system/qubes-xml.ts";
import { readLvTable, writeLvTable } from "./lvm.ts";
import { isRunning } from "./volumes.ts";

function find(store: QubesXml, name: string): Domain {
  const d = store.domains.find((x) => domainName(x) === name);
  if (!d || name === "dom0") throw new SimError(`no such domain: '${name}'`);
  return d;
}

/** `qvm-prefs QUBE NAME VALUE` (undefined: `--default`, the property is removed). @throws SimError for an unknown qube or a read-only property. */
export function setQubeProperty(root: string, qube: string, name: string, value: string | undefined): void {
  if (["name", "qid", "uuid"].includes(name)) throw new SimError(`Property ${name} of qube "${qube}" cannot be set this way; use renameQube for the name.`);
  const store = loadQubesXml(root);
  const d = find(store, qube);
  if (value === undefined) deleteProp(d.properties, name);
  else setProp(d.properties, name, value);
  saveQubesXml(root, store);
}

/** `qvm-features QUBE NAME VALUE` (undefined: `--unset`). @throws SimError for an unknown qube. */
export function setQubeFeature(root: string, qube: string, name: string, value: string | undefined): void {
  const store = loadQubesXml(root);
  const d = find(store, qube);
  if (value === undefined) deleteProp(d.features, name);
  else setProp(d.features, name, value);
  saveQubesXml(root, store);
}

/**
 * Renames halted qube `from` to `to`.
 * @throws SimError when it runs, `to` is taken, or it is the template of another qube.
 */
export function renameQube(root: string, from: string, to: string): void {
  const store = loadQubesXml(root);
  const d = find(store, from);
  if (store.domains.some((x) => domainName(x) === to) || to === "dom0") throw new SimError(`Qube "${to}" already exists; choose another name.`);
  if (isRunning(root, from)) throw new SimError(`Cannot rename qube "${from}" while it is running; shut it down first.`);
  const users = store.domains.filter((x) => getProp(x.properties, "template") === from).map(domainName);
  if (users.length) throw new SimError(`Qube "${from}" is the template of ${users.join(", ")}; switch them to another template first.`);
  const p = simPaths(root);
  for (const [a, b] of [[p.volumeDir(from), p.volumeDir(to)], [path.dirname(p.firewall(from)), path.dirname(p.firewall(to))], [path.dirname(p.notes(from)), path.dirname(p.notes(to))]] as const) {
    if (fs.existsSync(a)) fs.renameSync(a, b);
  }
  setProp(d.properties, "name", to);
  const table = readLvTable(root);
  for (const v of d.volumes) {
    if (!v.vid || v.save_on_stop === undefined) continue;
    const old = v.vid;
    v.vid = old.replace(`vm-${from}-`, `vm-${to}-`).replace(`/${from}/`, `/${to}/`);
    for (const key of Object.keys(table)) {
      if (key !== old && !key.startsWith(`${old}-`)) continue;
      const e = table[key]!;
      delete table[key];
      table[v.vid + key.slice(old.length)] = { uuid: e.uuid, file: e.file.replace(`volumes/${from}/`, `volumes/${to}/`) };
    }
  }
  writeLvTable(root, table);
  saveQubesXml(root, store);
}
