/**
 * Strict grammars for everything that ends up on a dom0 command line. dom0
 * trusts nothing from the backup qube, and the location string handed to
 * qvm-backup / qvm-backup-restore is built from fixed words plus values
 * that passed these checks.
 */

/** Raised for a value that fails validation; the message names value and rule. */
export class ValidationError extends Error {
  override name = "ValidationError";
}

// Qubes' own rule for qube names (qubes/vm/__init__.py validate_name).
const QUBE_RE = /^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$/;
const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RESTIC_ID_RE = /^[0-9a-f]{8,64}$/;
const BORG_ARCHIVE_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

function shown(v: string): string {
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
}

/**
 * Checks a qube name: `^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$`, not ending in `-dm`,
 * not `none` or `default` (Qubes' rules). Returns it unchanged.
 * @throws ValidationError
 */
export function qubeName(name: string, what = "qube name"): string {
  if (!QUBE_RE.test(name) || name.endsWith("-dm") || name === "none" || name === "default") {
    throw new ValidationError(`${what} ${shown(name)} is not a valid qube name; use a letter followed by up to 30 letters, digits, "_", "." or "-" (not ending in "-dm", not "none" or "default").`);
  }
  return name;
}

/**
 * Checks a repository name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`.
 * @throws ValidationError
 */
export function repoName(name: string): string {
  if (!REPO_RE.test(name)) {
    throw new ValidationError(`repository name ${shown(name)} is not valid; use a letter or digit followed by up to 63 letters, digits, ".", "_" or "-".`);
  }
  return name;
}

/**
 * Checks a snapshot id: a restic id (8-64 lowercase hex) or a borg archive
 * name (`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`; no leading dash).
 * @throws ValidationError
 */
export function snapshotId(id: string): string {
  if (!RESTIC_ID_RE.test(id) && !BORG_ARCHIVE_RE.test(id)) {
    throw new ValidationError(`snapshot ${shown(id)} is not valid; use a restic snapshot id (8-64 hex digits) or a borg archive name (letters, digits, ".", "_", ":" or "-", not starting with "-").`);
  }
  return id;
}
