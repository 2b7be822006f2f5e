/**
 * The simulated system as dom0's tools see it on a real Qubes machine, under
 * `$QUBES_SIM_ROOT/var/lib/qubes/`: `qubes.xml` (Qubes keeps its store at
 * `/var/lib/qubes/qubes.xml`), each qube's directory
 * (`appvms/<name>/` or `vm-templates/<name>/`, qubes-core-admin
 * `QubesVM.dir_path`) with `firewall.xml` and `notes.txt`, and each
 * file / file-reflink volume at `<pool dir_path>/<vid>.img`, where the
 * file and reflink drivers keep it. All are symbolic links into the
 * simulator's own layout (`volumes/`, `firewall/`, `notes/`), dangling when
 * the target is absent, so a commit that renames a volume's dirty file over
 * its clean one shows through unchanged. Rebuilt whenever `qubes.xml` is
 * saved. Only pools whose `dir_path` lies under `/var/lib/qubes` are shown.
 */
import fs from "node:fs";
import path from "node:path";
import { domainName, domainQid, savedVolumes, type QubesXml } from "./qubes-xml.ts";

/** The simulator's own paths the view points at (from layout.ts `simPaths`). */
export interface ViewTargets {
  root: string;
  qubesXml: string;
  volume: (qube: string, volume: string) => string;
  firewall: (qube: string) => string;
  notes: (qube: string) => string;
}

/** Where qubesd keeps Qubes' files, relative to the root. */
export const QUBES_BASE_DIR = "var/lib/qubes";

function link(target: string, at: string): void {
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.rmSync(at, { force: true });
  fs.symlinkSync(path.relative(path.dirname(at), target), at);
}

/** A qube's directory in Qubes (`appvms/<name>` or `vm-templates/<name>`), relative to {@link QUBES_BASE_DIR}. */
export function qubeDirPrefix(klass: string): string {
  return klass === "TemplateVM" ? "vm-templates" : "appvms";
}

/** Rebuilds `var/lib/qubes/` of `p.root` for `store`. */
export function writeDom0View(p: ViewTargets, store: QubesXml): void {
  const base = path.join(p.root, QUBES_BASE_DIR);
  fs.rmSync(base, { recursive: true, force: true });
  link(p.qubesXml, path.join(base, "qubes.xml"));
  const pools = new Map(store.pools.map((pool) => [pool.name, pool]));
  for (const d of store.domains) {
    if (domainQid(d) === 0) continue;
    const name = domainName(d);
    const dir = path.join(base, qubeDirPrefix(d.klass), name);
    link(p.firewall(name), path.join(dir, "firewall.xml"));
    link(p.notes(name), path.join(dir, "notes.txt"));
    for (const v of savedVolumes(d)) {
      const attrs = d.volumes.find((x) => x.name === v)!;
      const pool = pools.get(attrs.pool ?? "");
      if (!pool || !["file", "file-reflink"].includes(pool.driver ?? "") || !pool.dir_path || !attrs.vid) continue;
      const at = path.join(p.root, pool.dir_path, `${attrs.vid}.img`);
      if (!at.startsWith(`${base}${path.sep}`)) continue;
      link(p.volume(name, v), at);
    }
  }
}
