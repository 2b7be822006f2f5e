/**
 * This project's passphrases (docs/ARCHITECTURE.md): `qubes-dedup-v1-`
 * followed by 64 lowercase hex characters (256 random bits). scrypt sees the
 * passphrase as the last `!`-separated field of the line Qubes builds:
 * `backup-header!<pass>` for the header and `<backup-id>!<path>!<pass>` for
 * each chunk, `<path>` without `.enc` (backup format v4, DESIGN.md).
 */
import { randomBytes } from "node:crypto";

/** Matches a whole project passphrase. */
export const PROJECT_PASSPHRASE_RE = /^qubes-dedup-v1-[0-9a-f]{64}$/;

/** The first field of the header's passphrase line. */
export const HEADER_PASSPHRASE_FIELD = "backup-header";

/** True when the last `!`-separated field of `line` is a project passphrase. Pure. */
export function isProjectPassphraseLine(line: string): boolean {
  const last = line.slice(line.lastIndexOf("!") + 1);
  return PROJECT_PASSPHRASE_RE.test(last);
}

/**
 * The line Qubes passes to scrypt: `backup-header!<pass>` without `chunk`,
 * else `<backup-id>!<path>!<pass>` (`path` as in the stream, without `.enc`,
 * e.g. `vm3/private.img.000`). Pure.
 */
export function passphraseLine(passphrase: string, chunk?: { backupId: string; path: string }): string {
  return chunk ? `${chunk.backupId}!${chunk.path}!${passphrase}` : `${HEADER_PASSPHRASE_FIELD}!${passphrase}`;
}

/** A new project passphrase from 32 bytes of `crypto.randomBytes`. */
export function newProjectPassphrase(): string {
  return `qubes-dedup-v1-${randomBytes(32).toString("hex")}`;
}
