import { IngestError } from "../errors.ts";
import { BACKUP_ID_RULE, isBackupId } from "@qubes-dedup/protocol";

/** Parsed `backup-header` (qubes-core-admin `BackupHeader.save`: `key=value` lines). */
export interface BackupHeader {
  version: number;
  encrypted: boolean;
  compressed: boolean;
  compressionFilter?: string;
  hmacAlgorithm?: string;
  backupId: string;
  raw: Record<string, string>;
}

/** Largest `backup-header` / `.hmac` accepted (qubes-core-admin-client restore limit). */
export const MAX_HEADER_BYTES = 4096;

function fail(why: string): never {
  throw new IngestError(`the backup-header is not a Qubes backup header: ${why}; check that the input is a qvm-backup stream.`);
}

function bool(raw: Record<string, string>, key: string): boolean {
  const v = raw[key];
  if (v === undefined) return false;
  if (v === "True") return true;
  if (v === "False") return false;
  fail(`${key}=${v} is neither True nor False`);
}

/**
 * Parses the `backup-header` file (text lines `key=value`, format version 4).
 * @param bytes the file's content (at most 4096 bytes)
 * @throws IngestError when oversized, not text lines, version ≠ 4 or backup-id missing
 */
export function parseBackupHeader(bytes: Uint8Array): BackupHeader {
  if (bytes.length > MAX_HEADER_BYTES) fail(`it is ${bytes.length} bytes, over ${MAX_HEADER_BYTES}`);
  const text = Buffer.from(bytes).toString("utf8");
  const raw: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^([a-z][a-z0-9-]*)=([\x20-\x7e]*)$/.exec(line);
    if (!m) fail(`the line ${JSON.stringify(line.slice(0, 60))} is not key=value`);
    raw[m[1] as string] = m[2] as string;
  }
  if (raw.version === undefined) fail("it has no version line");
  const version = Number(raw.version);
  if (version !== 4) fail(`version=${raw.version} is not the supported format version 4`);
  const backupId = raw["backup-id"];
  if (!backupId || !isBackupId(backupId)) fail(`backup-id is missing or malformed (expected ${BACKUP_ID_RULE})`);
  const header: BackupHeader = {
    version,
    encrypted: bool(raw, "encrypted"),
    compressed: bool(raw, "compressed"),
    backupId,
    raw,
  };
  if (raw["compression-filter"] !== undefined) header.compressionFilter = raw["compression-filter"];
  if (raw["hmac-algorithm"] !== undefined) header.hmacAlgorithm = raw["hmac-algorithm"];
  return header;
}
