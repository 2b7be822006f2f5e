/**
 * What `qvm-ls --raw-list` / `--raw-data` and `qvm-remove` do to the simulated system:
 * list the live qubes (dom0 included), and remove a halted qube with its
 * volumes (and their LVs), firewall and notes.
 */
import fs from "node:fs";
import path from "node:path";
import { SimError, UsageError } from "../errors.ts";
import { loadQubesXml, saveQubesXml, simPaths } from "../system/layout.ts";
import { domainName, getProp, type Domain } from "../system/qubes-xml.ts";
import { isRunning, unregisterVolumes } from "./volumes.ts";

/** The names of the live qubes, in qubes.xml order. */
export function liveQubeNames(root: string): string[] {
  return loadQubesXml(root).domains.map(domainName);
}

/** qvm-ls columns (names as qvm-ls takes them, any case) and their value for a qube. */
const COLUMNS: Record<string, (d: Domain) => string> = {
  NAME: domainName,
  CLASS: (d) => d.klass,
  // a property of QubesVM, which dom0 (AdminVM) is not; default True
  INCLUDE_IN_BACKUPS: (d) => (d.klass === "AdminVM" ? "-" : getProp(d.properties, "include_in_backups") ?? "True"),
};

/**
 * `qvm-ls --raw-data --fields …`: one row per live qube, in qubes.xml order.
 * @throws UsageError for a field the simulator does not know.
 */
export function liveQubeFields(root: string, fields: string[]): string[][] {
  const cols = fields.map((f) => {
    const c = COLUMNS[f.toUpperCase().replace(/-/g, "_")];
    if (!c) throw new UsageError(`the simulator's qvm-ls has no field ${f}; it knows ${Object.keys(COLUMNS).join(", ")}.`);
    return c;
  });
  return loadQubesXml(root).domains.map((d) => cols.map((c) => c(d)));
}

/**
 * Removes qube `name` from the live qubes.xml and deletes its files.
 * @throws SimError for dom0 or a qube that does not exist.
 */
export function removeQube(root: string, name: string): void {
  if (name === "dom0") throw new SimError("dom0 cannot be removed.");
  const q = loadQubesXml(root);
  const i = q.domains.findIndex((d) => domainName(d) === name);
  if (i < 0) throw new SimError(`no such domain: '${name}'`);
  if (isRunning(root, name)) throw new SimError(`Qube "${name}" is running; shut it down before removing it.`);
  const [gone] = q.domains.splice(i, 1);
  unregisterVolumes(root, gone!);
  const p = simPaths(root);
  for (const dir of [p.volumeDir(name), path.dirname(p.firewall(name)), path.dirname(p.notes(name))]) fs.rmSync(dir, { recursive: true, force: true });
  saveQubesXml(root, q);
}
