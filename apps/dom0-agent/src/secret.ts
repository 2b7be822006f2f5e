/** `secret new`: a fresh project passphrase in a root-only file. */
import fs from "node:fs";
import path from "node:path";
import { newProjectPassphrase } from "@qubes-dedup/protocol";

/** Raised when the file exists (a passphrase is never overwritten). */
export class SecretExistsError extends Error {
  override name = "SecretExistsError";
}

/**
 * Writes a new project passphrase plus "\n" to `file`, mode 0600, creating
 * missing parent directories (0700). Never overwrites: old backups need the
 * old passphrase.
 * @returns the passphrase.
 * @throws SecretExistsError when `file` exists.
 */
export function writeNewSecret(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const pass = newProjectPassphrase();
  let fd: number;
  try {
    fd = fs.openSync(file, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new SecretExistsError(`${file} already exists and is never overwritten (backups made with it need it); choose another --out or move the old file away yourself.`);
    }
    throw e;
  }
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, `${pass}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return pass;
}
