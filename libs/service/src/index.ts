/**
 * Operations shared by the `qubes-dedup` CLI and the web dashboard: manage
 * repositories, run a backup (ingest) or a dump, list snapshots, each
 * recorded as a job in the index db; the dashboard's session token; byte
 * formatting for the terminal.
 */
export { ServiceError } from "./errors.ts";
export { addRepository, getRepository, engineFor, repositoryNameSchema, type NewRepository, type RepositoryRow } from "./repositories.ts";
export { runBackup, type RunBackupOptions, type RunBackupResult } from "./backup.ts";
export { runDump, findSnapshot, type RunDumpOptions } from "./restore.ts";
export { listSnapshots, type SnapshotView } from "./snapshots.ts";
export { failAbandonedJobs, processAlive } from "./jobs.ts";
export {
  requestBackup,
  requestRestore,
  type BackupRequestInput,
  type RestoreRequestInput,
  type RequestEvents,
  type RequestOutcome,
  type RequestResult,
  type RequestState,
} from "./qrexec.ts";
export { backupRequestSchema, restoreRequestSchema } from "./request-input.ts";
export { applyRetention, checkRepository, keptRuns, type KeepPolicy, type RetentionResult } from "./maintenance.ts";
export { reindex, type ReindexResult } from "./reindex.ts";
export { readOrCreateToken, readToken, rotateToken, tokenFile, tokenMatches, TokenError, TOKEN_FILE_NAME } from "./web-token.ts";
export { formatBytes } from "./format.ts";
