import path from "node:path";
import { fileURLToPath } from "node:url";

/** The monorepo root (this file is e2e/support/paths.ts). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WEB_DIR = path.join(ROOT, "apps", "web");

/** Built executables the e2e runs for real (see docs/ARCHITECTURE.md). */
export const BINS = {
  qubesDedup: path.join(ROOT, "apps", "cli", "dist", "qubes-dedup.mjs"),
  simBin: path.join(ROOT, "libs", "qubes-sim", "dist", "bin"),
  shim: path.join(ROOT, "libs", "shim", "dist", "scrypt"),
  agent: path.join(ROOT, "apps", "dom0-agent", "dist", "qubes-dedup-agent.mjs"),
};

/** Environment variable through which the global setup hands {@link E2eState} (JSON) to the workers. */
export const STATE_ENV = "QUBES_DEDUP_E2E_STATE";

/** What the global setup recorded for the tests. Sizes in bytes (decimal strings). */
export interface E2eState {
  baseURL: string;
  dbPath: string;
  tmp: string;
  /** The dashboard's session token (the server created it next to the db). */
  token: string;
  /** Bytes and SHA-256 of the stream qvm-backup produced, measured by a tee. */
  stream: { bytes: string; sha256: string };
  /** Qube names in the simulated system's backup set (from its qubes.xml). */
  expectedQubes: string[];
  /** The simulated dom0 root: volumes/<qube>/*.img, qrexec/pending/ confirmations. */
  dom0Root: string;
  /** A file the work qube's private volume (a real ext4 filesystem) held at the backup, for the files browser. */
  file: { qube: string; dir: string; name: string; sha256: string };
}

/** The state the global setup left for this worker. */
export function e2eState(): E2eState {
  const raw = process.env[STATE_ENV];
  if (!raw) throw new Error(`${STATE_ENV} is not set: run the tests through "playwright test" so the global setup runs first.`);
  return JSON.parse(raw) as E2eState;
}
