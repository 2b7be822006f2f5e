/**
 * Reads, in dom0 and before a backup starts, what the change record
 * compares: the live `qubes.xml` (`/var/lib/qubes/qubes.xml`), `lvs` once
 * (only when a selected qube has an lvm_thin volume), `qvm-ls --halted
 * --raw-list` (every qube not halted counts as running: running, paused,
 * starting or stopping), each volume's signal, firewall.xml and notes.txt
 * in the qube's directory, and dom0's home. Signals are read before the
 * backup so that a qube that stops while it runs is sent again next time,
 * never missed.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import type { QubeObservation } from "./record.ts";
import { LVS_ARGS, fileDigest, parseLvs, qubeDir, treeSignal, volumeSignals, type LvsResult } from "./signals.ts";
import { parseLiveStore, type LiveQube, type LiveStore } from "./store-xml.ts";

/** Qubes' store, as a system path. */
export const QUBES_XML = "/var/lib/qubes/qubes.xml";

/** What was read: the selected qubes in order with their observations, and every live name. */
export interface Observation {
  selected: { name: string; observed: QubeObservation | { unknown: string } }[];
  liveNames: Set<string>;
}

/** Raised when the store cannot be read at all: nothing can be told. */
export class ObserveError extends Error {
  override name = "ObserveError";
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: true; out: string } | { ok: false; why: string }> {
  const r = await execa(cmd, args, { env, reject: false, stdin: "ignore" });
  if (r.exitCode === 0 && typeof r.stdout === "string") return { ok: true, out: r.stdout };
  const why = r.exitCode === undefined ? (r.originalMessage ?? r.shortMessage) : `exit ${r.exitCode}: ${String(r.stderr ?? "").trim().split("\n")[0] ?? ""}`;
  return { ok: false, why: `${cmd} failed (${why})` };
}

/**
 * The qubes qvm-backup takes: `qubes` as given, else every qube whose
 * include_in_backups is not False (dom0 included); less `exclude`.
 */
export function selectQubes(store: LiveStore, qubes: string[], exclude: string[]): string[] {
  const names = qubes.length ? qubes : store.qubes.filter((q) => q.includeInBackups).map((q) => q.name);
  return [...new Set(names)].filter((n) => !exclude.includes(n));
}

/** The halted qubes (`qvm-ls --halted --raw-list`), or why they could not be listed. */
type Halted = { ok: true; names: Set<string> } | { ok: false; why: string };

function observeQube(root: string, q: LiveQube, store: LiveStore, lvs: () => LvsResult, halted: Halted): QubeObservation | { unknown: string } {
  if (q.name === "dom0") {
    return { running: false, settings: q.settings, volumes: { home: treeSignal(path.join(root, "home")) }, files: {} };
  }
  if (!halted.ok) return { unknown: `whether it runs (${halted.why})` };
  const dir = qubeDir(root, q);
  let files: Record<string, string | null>;
  try {
    files = { "firewall.xml": fileDigest(path.join(dir, "firewall.xml")), "notes.txt": fileDigest(path.join(dir, "notes.txt")) };
  } catch (e) {
    return { unknown: `its firewall.xml or notes.txt in ${dir} cannot be read (${(e as Error).message})` };
  }
  return { running: !halted.names.has(q.name), ...(q.uuid ? { uuid: q.uuid } : {}), settings: q.settings, volumes: volumeSignals(root, q, store.pools, lvs), files };
}

/**
 * Reads everything for the qubes a backup of `qubes` / `exclude` takes.
 * `env` is the environment `lvs` and `qvm-ls` run with.
 * @throws ObserveError when qubes.xml cannot be read or parsed.
 */
export async function observe(root: string, qubes: string[], exclude: string[], env: NodeJS.ProcessEnv): Promise<Observation> {
  const file = path.join(root, QUBES_XML);
  let store: LiveStore;
  try {
    store = parseLiveStore(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ObserveError(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const names = selectQubes(store, qubes, exclude);
  const byName = new Map(store.qubes.map((q) => [q.name, q]));
  const pools = new Map(store.pools.map((p) => [p.name, p.driver]));
  const needLvs = names.some((n) => byName.get(n)?.volumes.some((v) => v.save_on_stop === "True" && pools.get(v.pool ?? "") === "lvm_thin"));
  const lvsRun = needLvs ? await run("lvs", LVS_ARGS, env) : { ok: true as const, out: "" };
  const lvs: LvsResult = lvsRun.ok ? { ok: true, lvs: parseLvs(lvsRun.out) } : { ok: false, why: lvsRun.why };
  const ls = await run("qvm-ls", ["--halted", "--raw-list"], env);
  const halted: Halted = ls.ok ? { ok: true, names: new Set(ls.out.split("\n").filter(Boolean)) } : { ok: false, why: ls.why };
  const selected = names.map((name) => {
    const q = byName.get(name);
    return { name, observed: q ? observeQube(root, q, store, () => lvs, halted) : { unknown: "it is not in qubes.xml" } };
  });
  return { selected, liveNames: new Set(store.qubes.map((q) => q.name)) };
}
