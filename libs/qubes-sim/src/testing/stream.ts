import fs from "node:fs";
import path from "node:path";
import { runBackup } from "../backup/backup.ts";
import { createSystem, type QubeSpec } from "../system/create.ts";
import { sha256File } from "./hash.ts";

/** Options of {@link makeBackupStreamFile}. */
export interface StreamFileOptions {
  /** Seed of the system's content; equal seeds give equal volumes. */
  seed: string;
  /** The qubes (default: the small default system). */
  qubes?: QubeSpec[];
  /** Chunk size in bytes (default 100 MiB, the stock value). */
  chunkSize?: number;
  /** The backup passphrase line, e.g. a qubes-dedup project passphrase. */
  passphrase: string;
  /** Environment of scrypt: its PATH decides whether the shim or the real scrypt runs. */
  env?: NodeJS.ProcessEnv;
  /** Reuse this system root instead of creating one (to back up a changed system again). */
  root?: string;
  /** Compress with this filter (header `compressed=True`); default uncompressed. */
  compressionFilter?: string;
  /** qubesd's environment for scrypt (default `env`). */
  qubesdEnv?: NodeJS.ProcessEnv;
  /** Receives what qubesd only logs (e.g. a chunk's failed scrypt). */
  log?: (line: string) => void;
}

/**
 * Test support: creates a simulated system under `dir` (unless `root` is
 * given) and writes one real qvm-backup stream (backup format v4) to a file,
 * exactly as the simulated qvm-backup writes to a directory destination.
 * @returns the stream file, its size in bytes and SHA-256 (hex), and the root.
 */
export async function makeBackupStreamFile(dir: string, opts: StreamFileOptions): Promise<{ file: string; bytes: number; sha256: string; root: string }> {
  const root = opts.root ?? path.join(dir, `dom0-${opts.seed}`);
  if (!opts.root) createSystem(root, { seed: opts.seed, ...(opts.qubes ? { qubes: opts.qubes } : {}) });
  const out = fs.mkdtempSync(path.join(dir, "stream-"));
  await runBackup({ root, passphrase: opts.passphrase, location: out, destVm: "backup", chunkSize: opts.chunkSize, env: opts.env, qubesdEnv: opts.qubesdEnv, log: opts.log, compress: opts.compressionFilter !== undefined, compressionFilter: opts.compressionFilter });
  const [name] = fs.readdirSync(out);
  if (!name) throw new Error(`qvm-backup wrote nothing to ${out}`);
  const file = path.join(out, name);
  return { file, bytes: fs.statSync(file).size, sha256: sha256File(file), root };
}
