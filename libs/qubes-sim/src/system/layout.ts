/**
 * Paths of a simulated dom0 system (`$QUBES_SIM_ROOT`, docs/ARCHITECTURE.md):
 * `qubes.xml`, `volumes/<qube>/<volume>.img`, `firewall/<qube>/firewall.xml`,
 * `notes/<qube>/notes.txt`, `home/<user>/`, `running/<qube>` (a running
 * qube), `lvm/lvs.json` (dom0/lvm.ts), dom0's view `var/lib/qubes/`
 * (dom0-view.ts), qubesd's unit file with its
 * drop-ins under `usr/lib/systemd/system/` and `etc/systemd/system/`, and
 * for paranoid-mode restores `management-dispvm/` and `backup-vm/run/`.
 */
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { writeDom0View } from "./dom0-view.ts";
import { parseQubesXml, serializeQubesXml, type QubesXml } from "./qubes-xml.ts";

/** Absolute paths inside one simulated system root. */
export function simPaths(root: string) {
  const abs = path.resolve(root);
  return {
    root: abs,
    qubesXml: path.join(abs, "qubes.xml"),
    volume: (qube: string, volume: string) => path.join(abs, "volumes", qube, `${volume}.img`),
    volumeDir: (qube: string) => path.join(abs, "volumes", qube),
    firewall: (qube: string) => path.join(abs, "firewall", qube, "firewall.xml"),
    /** A qube's notes (Qubes: `<vm dir>/notes.txt`). */
    notes: (qube: string) => path.join(abs, "notes", qube, "notes.txt"),
    /** Marker of a running qube (qvm-start writes it, qvm-shutdown removes it). */
    running: (qube: string) => path.join(abs, "running", qube),
    /** qubesd's unit file, as Qubes' package installs it. */
    qubesdUnit: path.join(abs, "usr/lib/systemd/system/qubesd.service"),
    /** Directory of qubesd's drop-ins (where the agent puts its own). */
    qubesdDropIns: path.join(abs, "etc/systemd/system/qubesd.service.d"),
    homeDir: path.join(abs, "home"),
    /**
     * Files of the template behind `management_dispvm`, laid over this
     * machine's own (e.g. the backup-qube package unpacked there): what the
     * disposable qube of a paranoid-mode restore has beyond a plain system.
     */
    managementDispvm: path.join(abs, "management-dispvm"),
    /** The backup qube's `qubes.RegisterBackupLocation` registrations, one file per id. */
    backupLocations: path.join(abs, "backup-vm", "run", "backup-locations"),
  };
}

/**
 * The system root from `QUBES_SIM_ROOT`.
 * @throws SimError when the variable is unset or empty.
 */
export function rootFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.QUBES_SIM_ROOT;
  if (!root) throw new SimError("QUBES_SIM_ROOT is not set; point it at a simulated system made by qubes-sim-create.");
  return path.resolve(root);
}

/**
 * Reads the live `qubes.xml` of a root.
 * @throws SimError when it is missing or malformed.
 */
export function loadQubesXml(root: string): QubesXml {
  const p = simPaths(root).qubesXml;
  let text: string;
  try {
    text = fs.readFileSync(p, "utf8");
  } catch {
    throw new SimError(`${p} does not exist; create the system with qubes-sim-create or check QUBES_SIM_ROOT.`);
  }
  return parseQubesXml(text);
}

/** Writes the live `qubes.xml` atomically (temp file + rename), then dom0's view of it (dom0-view.ts). */
export function saveQubesXml(root: string, q: QubesXml): void {
  const paths = simPaths(root);
  const p = paths.qubesXml;
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(`${p}.tmp`, serializeQubesXml(q));
  fs.renameSync(`${p}.tmp`, p);
  writeDom0View(paths, q);
}

/** The dom0 user: the first directory under `home/` (sorted), or undefined. */
export function dom0User(root: string): string | undefined {
  try {
    return fs
      .readdirSync(simPaths(root).homeDir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()[0];
  } catch {
    return undefined;
  }
}
