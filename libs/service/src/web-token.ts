/**
 * The dashboard's session token: 32 random bytes as 64 hex characters, kept
 * in `web-token` next to the index database (mode 0600), created on the
 * server's first start. `qubes-dedup web-token [--rotate]` uses the same
 * functions to print or replace it.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { defaultDatabaseUrl } from "@qubes-dedup/db";

/** The token file's name inside the data directory. */
export const TOKEN_FILE_NAME = "web-token";

const TOKEN_RE = /^[0-9a-f]{64}$/;

/** A token file that exists but cannot be used; the message says what to do. */
export class TokenError extends Error {
  override name = "TokenError";
}

/**
 * Path of the token file for the index db at `dbUrl` (a `file:` URL or a
 * path; default `$QUBES_DEDUP_DB` or `<workspace>/var/qubes-dedup.db`):
 * `<directory of the db>/web-token`.
 */
export function tokenFile(dbUrl: string = defaultDatabaseUrl()): string {
  const file = dbUrl.startsWith("file:") ? dbUrl.slice("file:".length) : dbUrl;
  return path.join(path.dirname(path.resolve(file)), TOKEN_FILE_NAME);
}

function newToken(): string {
  return randomBytes(32).toString("hex");
}

/** Writes `token` to `file` atomically, readable only by its owner (0600). */
function writeToken(file: string, token: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: "w" });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/**
 * The current token from `file`, or null when the file does not exist.
 * A file readable by group or others is tightened to 0600.
 * @throws TokenError when the file does not hold a token.
 */
export function readToken(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const token = text.trim();
  if (!TOKEN_RE.test(token)) {
    throw new TokenError(`${file} does not hold a dashboard token: run "qubes-dedup web-token --rotate" to write a new one.`);
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return token;
}

/** The token in `file`, creating it (0600) when there is none yet. */
export function readOrCreateToken(file: string = tokenFile()): string {
  const existing = readToken(file);
  if (existing) return existing;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = newToken();
  try {
    // "wx": two processes starting at once must end up with one token.
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "wx" });
    return token;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readToken(file) ?? token;
    throw e;
  }
}

/** Replaces the token in `file` with a new one and returns it; old sessions stop working. */
export function rotateToken(file: string = tokenFile()): string {
  const token = newToken();
  writeToken(file, token);
  return token;
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
