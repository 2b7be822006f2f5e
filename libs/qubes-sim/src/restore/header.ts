/**
 * `backup-header` parsing and validation as qvm-backup-restore does it
 * (QubesOS/qubes-core-admin-client qubesadmin/backup/restore.py): ASCII
 * `key=value` lines, alphanumeric-and-dash keys and values, no duplicates,
 * unknown keys ignored; version 4 needs version, encrypted, compressed,
 * hmac-algorithm, backup-id, and compression-filter when compressed.
 */
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";

/** Filters qvm-backup-restore always accepts (restore.py KNOWN_COMPRESSION_FILTERS). */
const KNOWN_COMPRESSION_FILTERS = ["gzip", "bzip2", "xz"];
/** Filters it accepts when the program is on PATH (restore.py OPTIONAL_COMPRESSION_FILTERS). */
const OPTIONAL_COMPRESSION_FILTERS = ["lzma", "pbzip2", "pigz", "zstd", "zstdmt"];

/**
 * Whether qvm-backup-restore accepts a header's `compression-filter`, as its
 * `validate_compression_filter` decides: a known filter, or an optional one
 * found on `env.PATH`.
 */
export function acceptedCompressionFilter(filter: string, env: NodeJS.ProcessEnv): boolean {
  if (KNOWN_COMPRESSION_FILTERS.includes(filter)) return true;
  if (!OPTIONAL_COMPRESSION_FILTERS.includes(filter)) return false;
  return (env.PATH ?? "").split(":").some((d) => d !== "" && fs.existsSync(path.join(d, filter)));
}

/** A validated backup header. */
export interface BackupHeader {
  version: number;
  encrypted: boolean;
  compressed: boolean;
  compressionFilter?: string;
  hmacAlgorithm: string;
  backupId: string;
}

const KEYS = ["version", "encrypted", "compressed", "compression-filter", "crypto-algorithm", "hmac-algorithm", "backup-id"];
const ALNUM = /^[A-Za-z0-9-]*$/;

/**
 * Parses header bytes.
 * @throws SimError on any invalid line, a missing key or a version other than 4.
 */
export function parseBackupHeader(data: Buffer): BackupHeader {
  if (data.some((b) => b > 127)) throw new SimError("Non-ASCII characters in the backup header; the backup is damaged.");
  const seen = new Map<string, string>();
  for (const line of data.toString("ascii").split(/\r?\n/)) {
    if (line === "") continue;
    if (line.split("=").length !== 2) throw new SimError(`Invalid backup header line "${line}"; the backup is damaged.`);
    const [key, value] = line.trim().split("=") as [string, string];
    if (!ALNUM.test(key)) throw new SimError(`Invalid backup header key "${key}"; the backup is damaged.`);
    if (!KEYS.includes(key)) continue;
    if (seen.has(key)) throw new SimError(`Duplicated backup header line: ${key}; the backup is damaged.`);
    if (!ALNUM.test(value)) throw new SimError(`Invalid backup header value for ${key}; the backup is damaged.`);
    seen.set(key, value);
  }
  const bool = (k: string) => ["1", "true", "yes"].includes((seen.get(k) ?? "").toLowerCase());
  const version = Number(seen.get("version"));
  if (version !== 4) throw new SimError(`Unsupported backup version ${seen.get("version") ?? "(none)"}; this simulator restores backup format 4 only.`);
  const required = ["version", "encrypted", "compressed", "hmac-algorithm", "backup-id"];
  if (bool("compressed")) required.push("compression-filter");
  for (const k of required) if (!seen.has(k)) throw new SimError(`The backup header lacks '${k}'; the backup is damaged.`);
  return {
    version,
    encrypted: bool("encrypted"),
    compressed: bool("compressed"),
    compressionFilter: seen.get("compression-filter"),
    hmacAlgorithm: seen.get("hmac-algorithm")!,
    backupId: seen.get("backup-id")!,
  };
}
