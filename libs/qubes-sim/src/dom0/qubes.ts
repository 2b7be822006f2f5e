/**
 * What `qvm-ls --raw-list` and `qvm-remove` do to the simulated system:
 * list the live qubes (dom0 included), and remove a halted qube with its
 * volumes (and their LVs), firewall and notes.
 */
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { loadQubesXml, saveQubesXml, simPaths } from "../system/layout.ts";
import { domainName } from "../system/qubes-xml.ts";
import { isRunning, unregisterVolumes } from "./volumes.ts";

/** The names of the live qubes, in qubes.xml order. */
export function liveQubeNames(root: string): string[] {
  return loadQubesXml(root).domains.map(domainName);
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
