/**
 * The backup qube's side of a paranoid-mode restore
 * (QubesOS/qubes-core-agent-linux qubes-rpc `qubes.RegisterBackupLocation`,
 * `qubes.RestoreById`): dom0 registers the location line and gets back an
 * id of letters and digits; a disposable qube then calls
 * `qubes.RestoreById+<id>`, which runs the registered location like
 * `qubes.Restore`. A registration lasts as long as dom0 keeps the
 * registering call open; here, until {@link BackupLocationRegistration.revoke}.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";
import { simPaths } from "../system/layout.ts";

/** One registered location. */
export interface BackupLocationRegistration {
  /** The id dom0 received (32 letters and digits). */
  id: string;
  /** Ends the registration, as closing the `qubes.RegisterBackupLocation` call does. */
  revoke(): void;
}

/**
 * What the backup qube kept for an id: the location line and the backup
 * qube's environment, under which the line runs. (The simulator runs the
 * backup qube's commands on this machine: its environment is the one the
 * registering call had.)
 */
interface Registered {
  location: string;
  env: NodeJS.ProcessEnv;
}

const ID_RE = /^[A-Za-z0-9]{1,64}$/;

/**
 * `qubes.RegisterBackupLocation` in the backup qube: stores `location` (one
 * line) with the backup qube's environment `env` (file mode 0600).
 * @throws SimError for a location with a newline or an empty one.
 */
export function registerBackupLocation(root: string, location: string, env: NodeJS.ProcessEnv): BackupLocationRegistration {
  if (location.trim() === "" || /[\r\n]/.test(location)) throw new SimError("qubes.RegisterBackupLocation needs one non-empty location line.");
  const dir = simPaths(root).backupLocations;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const id = crypto.randomBytes(24).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 32);
  const file = path.join(dir, id);
  const entry: Registered = { location, env };
  fs.writeFileSync(file, JSON.stringify(entry), { mode: 0o600, flag: "wx" });
  return { id, revoke: () => fs.rmSync(file, { force: true }) };
}

/**
 * `qubes.RestoreById+<id>` in the backup qube: the registered location and
 * the backup qube's environment it runs with.
 * @throws SimError when the id is malformed or not (or no longer) registered.
 */
export function lookupBackupLocation(root: string, id: string): Registered {
  if (!ID_RE.test(id)) throw new SimError(`qubes.RestoreById: "${id}" is not a backup location id (letters and digits only).`);
  let entry: Registered;
  try {
    entry = JSON.parse(fs.readFileSync(path.join(simPaths(root).backupLocations, id), "utf8")) as Registered;
  } catch {
    throw new SimError(`qubes.RestoreById: no backup location is registered under id ${id}; dom0 registers one for each paranoid-mode restore and revokes it at the end.`);
  }
  return entry;
}

/** The id in a `--location-is-service` location (`qubes.RestoreById+<id>`), or a SimError. */
export function restoreByIdOf(service: string): string {
  const m = /^qubes\.RestoreById\+(.*)$/.exec(service);
  if (!m) throw new SimError(`With --location-is-service the location must be qubes.RestoreById+<id>, not "${service}".`);
  return m[1]!;
}
