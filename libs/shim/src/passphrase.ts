/**
 * This project's passphrases (docs/ARCHITECTURE.md): `qubes-dedup-v1-`
 * followed by 64 lowercase hex characters (256 random bits). scrypt sees the
 * passphrase as the last `!`-separated field of the line Qubes builds:
 * `backup-header!<pass>` or `<backup-id>!<path>!<pass>` (backup format v4).
 */
import { randomBytes } from "node:crypto";

/** Matches a whole project passphrase. */
export const PROJECT_PASSPHRASE_RE = /^qubes-dedup-v1-[0-9a-f]{64}$/;

/** True when the last `!`-separated field of `line` is a project passphrase. Pure. */
export function isProjectPassphraseLine(line: string): boolean {
  const last = line.slice(line.lastIndexOf("!") + 1);
  return PROJECT_PASSPHRASE_RE.test(last);
}

/** A new project passphrase from 32 bytes of `crypto.randomBytes`. */
export function newProjectPassphrase(): string {
  return `qubes-dedup-v1-${randomBytes(32).toString("hex")}`;
}
