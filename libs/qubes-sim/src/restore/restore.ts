/**
 * `qvm-backup-restore` (backup format v4, QubesOS/qubes-core-admin-client
 * qubesadmin/backup/restore.py): three separate retrievals (header files,
 * `qubes.xml.000.enc`, data), every file checked with `scrypt dec -f`, inner
 * streams extracted with GNU tar into the simulated system.
 *
 * Where things go: volumes to `volumes/<qube>/<volume>.img` (sparse),
 * `firewall.xml` to `firewall/<qube>/`, `notes.txt` to `notes/<qube>/`, dom0's home (as Qubes does) to
 * `home/<user>/home-restore-<YYYY-mm-dd-HHMMSS>/dom0-home/<user>/`. New
 * qubes get fresh qids in the live `qubes.xml`, which is written only
 * after all data was restored.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SimError } from "../errors.ts";
import { callScrypt } from "../tty/scrypt-call.ts";
import { dom0User, simPaths } from "../system/layout.ts";
import { parseQubesXml, type QubesXml } from "../system/qubes-xml.ts";
import { acceptedCompressionFilter, parseBackupHeader, type BackupHeader } from "./header.ts";
import { InnerExtractor, type InnerTarget } from "./inner.ts";
import { lookupBackupLocation, restoreByIdOf } from "./backup-locations.ts";
import { retrieve } from "./retrieve.ts";
import { applyRestore, chooseQubes, missingTemplates, type RestorePlanItem } from "./select.ts";

/** Options of {@link runRestore}. */
export interface RestoreOptions {
  root: string;
  passphrase: string;
  location: string;
  /** The qube holding the backup (informational in the simulator). */
  backupVm: string;
  /** Qubes to restore (names, "dom0"); empty = all in the backup. */
  qubes?: string[];
  exclude?: string[];
  verifyOnly?: boolean;
  conflict?: "error" | "rename" | "skip";
  /** Paranoid mode: dom0's home is never restored. */
  paranoid?: boolean;
  /**
   * `--location-is-service`: `location` is `qubes.RestoreById+<id>`, a
   * location the backup qube registered for a paranoid-mode restore
   * (backup-locations.ts), not a location line.
   */
  locationIsService?: boolean;
  /** `--skip-dom0-home`: leave dom0's home out (paranoid mode's inner run always does). */
  skipDom0Home?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Receives report lines. */
  log?: (line: string) => void;
  now?: Date;
}

/** The outcome of {@link runRestore}. */
export interface RestoreResult {
  backupId: string;
  /** Restored (or verified) qubes with their volumes' sizes in bytes. */
  qubes: { name: string; restoredAs: string; volumes: Record<string, number> }[];
  /** Names of qubes skipped because of conflicts. */
  skipped: string[];
  /** How many times the location command ran (one per retrieval). */
  retrievals: number;
}

/** Largest header and qubes.xml retrieval (bytes), as in Qubes. */
const HEADER_QUBES_XML_MAX_SIZE = 1024 * 1024;
/** Largest accepted `backup-header.hmac` (bytes), as in Qubes. */
const HMAC_MAX_SIZE = 4096;

async function decrypt(env: NodeJS.ProcessEnv, tmp: string, name: string, passphrase: string, out?: string): Promise<string> {
  const plain = name.replace(/\.(enc|hmac)$/, "");
  const target = path.join(tmp, out ?? plain);
  const r = await callScrypt({ args: ["dec", "-f", path.join(tmp, name), target], passphrase, env });
  if (r.exitCode !== 0) {
    fs.rmSync(target, { force: true });
    throw new SimError(`Failed to decrypt ${name} (scrypt: ${r.stderr.trim() || `exit ${r.exitCode}`}); the passphrase is wrong or the file is damaged.`);
  }
  fs.rmSync(path.join(tmp, name));
  return plain;
}

/** Where retrievals read from: the location line and the backup qube's environment it runs in. */
interface Source {
  location: string;
  env: NodeJS.ProcessEnv;
}

function sourceOf(o: RestoreOptions, env: NodeJS.ProcessEnv): Source {
  return o.locationIsService ? lookupBackupLocation(o.root, restoreByIdOf(o.location)) : { location: o.location, env };
}

async function readHeader(o: RestoreOptions, env: NodeJS.ProcessEnv, src: Source, tmp: string): Promise<BackupHeader> {
  const files = ["backup-header", "backup-header.hmac"];
  const got = await retrieve({ ...src, filters: files, dir: tmp, onFile: async () => {}, maxBytes: HEADER_QUBES_XML_MAX_SIZE });
  for (const f of files) {
    if (!got.files.includes(f)) throw new SimError(`Unable to read the qubes backup from "${o.location}": ${f} is missing; check the location.`);
  }
  if (fs.statSync(path.join(tmp, "backup-header.hmac")).size > HMAC_MAX_SIZE) {
    throw new SimError("HMAC file backup-header.hmac too large; the backup is damaged or not a Qubes backup.");
  }
  try {
    await decrypt(env, tmp, "backup-header.hmac", `backup-header!${o.passphrase}`, "backup-header.dec");
  } catch {
    throw new SimError("Corrupted backup header (hmac verification failed); check the passphrase.");
  }
  const header = fs.readFileSync(path.join(tmp, "backup-header"));
  if (!header.equals(fs.readFileSync(path.join(tmp, "backup-header.dec")))) {
    throw new SimError("Invalid hmac on backup-header; the backup was tampered with or the passphrase is wrong.");
  }
  const h = parseBackupHeader(header);
  if (h.compressed && !acceptedCompressionFilter(h.compressionFilter ?? "gzip", env)) {
    throw new SimError(`Unusual compression filter '${h.compressionFilter}' found in the backup; install it or restore on a system that has it.`);
  }
  return h;
}

async function readBackupStore(o: RestoreOptions, env: NodeJS.ProcessEnv, src: Source, tmp: string, h: BackupHeader): Promise<QubesXml> {
  const name = "qubes.xml.000.enc";
  const got = await retrieve({ ...src, filters: [name], dir: tmp, onFile: async () => {}, maxBytes: HEADER_QUBES_XML_MAX_SIZE });
  if (!got.files.includes(name)) throw new SimError(`Unable to read ${name} from "${o.location}"; the backup is truncated.`);
  await decrypt(env, tmp, name, `${h.backupId}!qubes.xml.000!${o.passphrase}`);
  const xml = path.join(tmp, "qubes.xml");
  const inner = new InnerExtractor(env, filterOf(h), () => ({ kind: "file", member: "qubes.xml", dest: xml }));
  await inner.add("qubes.xml.000", path.join(tmp, "qubes.xml.000"));
  await inner.finish();
  return parseQubesXml(fs.readFileSync(xml, "utf8"));
}

/** The decompression program of the inner streams, or undefined when uncompressed. */
function filterOf(h: BackupHeader): string | undefined {
  return h.compressed ? (h.compressionFilter ?? "gzip") : undefined;
}

/** Files of a qube's directory that restore writes besides its volumes (restore.py's handlers). */
const QUBE_FILES = ["firewall.xml", "notes.txt"];

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Maps an inner file name (`vm3/private.img`) to where its content goes. */
function targets(o: RestoreOptions, plan: RestorePlanItem[], staging: string): (base: string) => InnerTarget {
  return (base) => {
    if (o.verifyOnly) return { kind: "check" };
    if (base.startsWith("dom0-home/")) return { kind: "dir", dest: path.join(staging, "dom0-home") };
    const item = plan.find((p) => base.startsWith(p.path));
    const file = item ? base.slice(item.path.length) : "";
    if (item && (item.volumes.includes(file.replace(/\.img$/, "")) || QUBE_FILES.includes(file))) {
      fs.mkdirSync(path.join(staging, item.restoredAs), { recursive: true });
      return { kind: "file", member: base, dest: path.join(staging, item.restoredAs, file) };
    }
    return { kind: "check" };
  };
}

async function restoreData(o: RestoreOptions, env: NodeJS.ProcessEnv, src: Source, tmp: string, h: BackupHeader, plan: RestorePlanItem[], staging: string): Promise<Set<string>> {
  const dirs = plan.map((p) => (p.isDom0 ? "dom0-home" : p.path));
  const seen = new Set<string>();
  if (dirs.length === 0) return seen;
  const bad = plan.find((p) => !/^(vm\d+\/|dom0-home\/[^/]+)$/.test(p.path));
  if (bad) throw new SimError(`Qube "${bad.name}" has an invalid backup-path "${bad.path}" in the backup's qubes.xml; the backup is damaged.`);
  fs.mkdirSync(path.join(staging, "dom0-home"), { recursive: true });
  const inner = new InnerExtractor(env, filterOf(h), targets(o, plan, staging));
  try {
    await retrieve({
      ...src,
      filters: dirs,
      dir: tmp,
      onFile: async (name) => {
        if (!name.endsWith(".enc")) throw new SimError(`Invalid file extension found in the backup: ${name}; the backup is damaged.`);
        const plain = await decrypt(env, tmp, name, `${h.backupId}!${name.slice(0, -4)}!${o.passphrase}`);
        seen.add(plain.replace(/\.\d{3}$/, ""));
        await inner.add(plain, path.join(tmp, plain));
        fs.rmSync(path.join(tmp, plain), { force: true });
      },
    });
    await inner.finish();
  } catch (e) {
    inner.abort();
    throw e;
  }
  return seen;
}

/**
 * Restores (or with verifyOnly, checks) qubes from a backup.
 * @throws SimError on a wrong passphrase, a damaged or truncated backup,
 *   unknown qubes or name conflicts (without rename/skip).
 */
export async function runRestore(o: RestoreOptions): Promise<RestoreResult> {
  const env = o.env ?? process.env;
  const log = o.log ?? (() => {});
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qubes-sim-restore-"));
  const staging = fs.mkdtempSync(path.join(simPaths(o.root).root + "-restore-staging-"));
  try {
    const src = sourceOf(o, env);
    const h = await readHeader(o, env, src, tmp);
    const backup = await readBackupStore(o, env, src, tmp, h);
    const { plan, skipped, live } = chooseQubes({ ...o, paranoid: o.paranoid || o.skipDom0Home }, backup);
    for (const s of skipped) log(`-> Skipping ${s}: a qube with that name already exists.`);
    for (const m of missingTemplates(plan, live)) log(`-> Warning: template ${m.template} of ${m.name} is neither on this machine nor in this restore; ${m.name} will use the default template.`);
    const seen = await restoreData(o, env, src, tmp, h, plan, staging);
    for (const p of plan) {
      const missing = p.isDom0 ? (seen.has(p.path) ? [] : [p.path]) : p.volumes.map((v) => `${p.path}${v}.img`).filter((f) => !seen.has(f));
      if (missing.length) throw new SimError(`Premature end of the backup: ${missing.join(", ")} never arrived; the backup is truncated.`);
    }
    const result: RestoreResult = { backupId: h.backupId, qubes: [], skipped, retrievals: plan.length ? 3 : 2 };
    for (const p of plan) {
      const vols: Record<string, number> = {};
      for (const v of p.volumes) {
        const f = path.join(staging, p.restoredAs, `${v}.img`);
        vols[v] = o.verifyOnly ? 0 : fs.statSync(f).size;
      }
      result.qubes.push({ name: p.name, restoredAs: p.restoredAs, volumes: vols });
      const what = p.isDom0 ? "dom0 home" : Object.entries(vols).map(([v, s]) => (o.verifyOnly ? `${v}.img` : `${v}.img (${s} bytes)`)).join(", ");
      log(`-> ${o.verifyOnly ? "Verified" : "Restored"} ${p.name}${p.restoredAs !== p.name ? ` as ${p.restoredAs}` : ""}: ${what}`);
    }
    if (!o.verifyOnly) {
      const user = dom0User(o.root) ?? plan.find((p) => p.isDom0)?.path.split("/")[1] ?? "user";
      applyRestore(o.root, live, backup, plan, staging, path.join("home", user, `home-restore-${stamp(o.now ?? new Date())}`));
    }
    log(`-> Done.`);
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
