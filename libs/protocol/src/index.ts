/**
 * The contracts the dom0 agent and the backup qube share, each rule once:
 * name rules (names.ts) and their zod schemas (schemas.ts), the qrexec
 * request grammar of qubes.DedupBackup / qubes.DedupRestore (request.ts),
 * the reply lines dom0 writes and the backup qube parses (reply.ts), and the
 * shim's byte formats (formats/, also `@qubes-dedup/protocol/formats`, which
 * imports only Node's built-ins). Pure: no I/O, no processes.
 */
export * from "./formats/index.ts";
export {
  BACKUP_ID_RULE,
  MAX_QUBE_NAME,
  MAX_REPOSITORY_NAME,
  MAX_SNAPSHOT_REF,
  NameError,
  QUBE_NAME_RULE,
  REPOSITORY_NAME_RULE,
  SNAPSHOT_REF_RULE,
  checkBackupId,
  checkQubeName,
  checkRepositoryName,
  checkSnapshotRef,
  isBackupId,
  isQubeName,
  isRepositoryName,
  isSnapshotRef,
} from "./names.ts";
export { backupIdSchema, qubeNameSchema, repositoryNameSchema, snapshotRefSchema } from "./schemas.ts";
export {
  MAX_QUBES,
  MAX_REQUEST_BYTES,
  RequestError,
  parseBackupRequest,
  RESTORE_POINT_RE,
  isRestorePointRequest,
  parseRestorePointRequest,
  parseRestoreRequest,
  requestLine,
  type BackupRequest,
  type RestorePointRequest,
  type RestoreRequest,
} from "./request.ts";
export { MAX_PARSED_CHARS, MAX_REASON_CHARS, formatNote, formatPercent, formatReply, oneLine, parseNote, parseReply, type Reply } from "./reply.ts";
export {
  LEDGER_COPY_FORMAT,
  LedgerCopyError,
  formatFetchLine,
  formatLedgerCopy,
  ledgerCopyKey,
  parseFetchOutput,
  parseLedgerCopyEnvelope,
  verifyLedgerCopy,
  type LedgerCopyEnvelope,
  type LedgerFetchLine,
} from "./ledger-copy.ts";
