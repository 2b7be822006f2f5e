/**
 * The name rules both sides apply: qube names, repository names, snapshot
 * references and backup-ids. Every value that reaches a dom0 command line
 * passes one of these, and the backup qube checks the same rules before it
 * asks, so that a name is accepted by both or by neither. ASCII only: no
 * whitespace, control characters, shell metacharacters, `/`, or a leading
 * `-` (which a command would read as an option). Pure, no dependencies.
 */

/** Raised for a name that breaks its rule; the message names the value and the rule. */
export class NameError extends Error {
  override name = "NameError";
}

// Qubes' rule (qubes-core-qrexec libqubes-pure `qubes_pure_is_valid_qube_name`,
// qubes-core-admin `validate_name`): 1-31 bytes of [A-Za-z0-9_.-], a letter
// first, not ending in "-dm" (device-model stubdomains), and not "none",
// "default" (admin API) or "Domain-0" (libxl's name for dom0).
const QUBE_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;
const RESERVED_QUBES = new Set(["none", "default", "Domain-0"]);
// The rule `qubes-dedup repo add` has always applied, so every registered
// repository matches it; it also makes a safe word in dom0's location string.
const REPOSITORY_RE = /^[a-z][a-z0-9_-]{0,31}$/;
// Restic ids (64 hex) and prefixes (8+ hex), and borg archive names, which
// carry the tags: `qubes-dedup,qd-run:<ISO time>-<8 hex>,qd-data`.
const SNAPSHOT_REF_RE = /^[A-Za-z0-9][A-Za-z0-9._:,-]{0,127}$/;
// qvm-backup's backup-id: local time `YYYYmmddTHHMMSS`, `-`, its PID.
const BACKUP_ID_RE = /^[0-9]{8}T[0-9]{6}-[0-9]{1,10}$/;

/** Longest qube name, in characters (Qubes' limit). */
export const MAX_QUBE_NAME = 31;
/** Longest repository name, in characters. */
export const MAX_REPOSITORY_NAME = 32;
/** Longest snapshot reference, in characters. */
export const MAX_SNAPSHOT_REF = 128;

/** The qube-name rule, in words (for error messages). */
export const QUBE_NAME_RULE = 'a letter followed by up to 30 letters, digits, "_", "." or "-" (not ending in "-dm", not "none", "default" or "Domain-0")';
/** The repository-name rule, in words. */
export const REPOSITORY_NAME_RULE = 'a lowercase letter followed by up to 31 lowercase letters, digits, "_" or "-"';
/** The snapshot-reference rule, in words. */
export const SNAPSHOT_REF_RULE = 'the id `qubes-dedup snapshots` shows (a short id, a unique start of a snapshot id, or the whole restic id or borg archive name): up to 128 letters, digits, ".", "_", ":", "," or "-", starting with a letter or digit';
/** The backup-id rule, in words. */
export const BACKUP_ID_RULE = "YYYYmmddTHHMMSS-<pid>, as qvm-backup writes it in the backup-header";

/** True for a name Qubes accepts for a qube. */
export function isQubeName(name: string): boolean {
  return QUBE_RE.test(name) && !name.endsWith("-dm") && !RESERVED_QUBES.has(name);
}

/** True for a valid repository name. */
export function isRepositoryName(name: string): boolean {
  return REPOSITORY_RE.test(name);
}

/** True for a valid snapshot reference (full id, id prefix or borg archive name). */
export function isSnapshotRef(ref: string): boolean {
  return SNAPSHOT_REF_RE.test(ref);
}

/** True for a backup-id as Qubes writes it (`20250102T030405-1234`). */
export function isBackupId(id: string): boolean {
  return BACKUP_ID_RE.test(id);
}

/** `v` quoted for a message, cut to 80 characters. */
function shown(v: string): string {
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
}

/**
 * Checks a qube name (Qubes' rule, {@link QUBE_NAME_RULE}); `what` names it in
 * the message ("qube", "excluded qube", "backup qube"). Returns it unchanged.
 * @throws NameError
 */
export function checkQubeName(name: string, what = "qube name"): string {
  if (!isQubeName(name)) throw new NameError(`${what} ${shown(name)} is not a valid qube name; use ${QUBE_NAME_RULE}.`);
  return name;
}

/** Checks a repository name ({@link REPOSITORY_NAME_RULE}). Returns it unchanged. @throws NameError */
export function checkRepositoryName(name: string): string {
  if (!isRepositoryName(name)) throw new NameError(`repository name ${shown(name)} is not valid; use ${REPOSITORY_NAME_RULE}.`);
  return name;
}

/** Checks a snapshot reference ({@link SNAPSHOT_REF_RULE}). Returns it unchanged. @throws NameError */
export function checkSnapshotRef(ref: string): string {
  if (!isSnapshotRef(ref)) throw new NameError(`snapshot ${shown(ref)} is not valid; use ${SNAPSHOT_REF_RULE}.`);
  return ref;
}

/** Checks a backup-id ({@link BACKUP_ID_RULE}). Returns it unchanged. @throws NameError */
export function checkBackupId(id: string): string {
  if (!isBackupId(id)) throw new NameError(`backup-id ${shown(id)} is not valid; expected ${BACKUP_ID_RULE}.`);
  return id;
}
