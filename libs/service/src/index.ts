/**
 * The one business layer of qubes-dedup: the `qubes-dedup` CLI, the web
 * dashboard and the demo call these; nothing else touches the index db or the
 * engines. By noun:
 *
 * - repositories: register (CLI: password file; dashboard: typed password
 *   stored 0600), look up, open the engine, test a connection, the dashboard's
 *   view with totals and warnings;
 * - snapshots: one listing (dedup ratio null = no data yet), one detail view,
 *   and one reference resolver shared by `dump` and /snapshots/<ref>;
 * - backup / restore: ingest or dump a stream, recorded as a job; jobs;
 * - requests: backup and restore requests to dom0 over qrexec, their input
 *   grammar, the in-process task registry with progress, and their history;
 * - maintenance: retention, check, restore drill, recorded as runs; schedules
 *   (cron, UTC) and the scheduler loop that runs them;
 * - reindex: rebuild the index from the repository;
 * - the dashboard's session token, and byte counts for the terminal.
 */
export { ServiceError } from "./errors.ts";
export { processDatabase, openIndex, dataDirectory, type Database } from "./database.ts";

// repositories
export { addRepository, getRepository, engineFor, registeredRepositories, resticCacheDir, repositoryNameSchema, type NewRepository, type RepositoryRow, type RepositorySummary } from "./repositories.ts";
export {
  locationProblem,
  repositoryInput,
  secretsDir,
  writeSecret,
  testConnection,
  addRepositoryFromDashboard,
  testRegistered,
  type RepositoryInput,
  type ConnectionTest,
} from "./repository-admin.ts";
export {
  listRepositories,
  warningsFor,
  newestSnapshotWarnings,
  FAILED_JOBS_SHOWN,
  APPEND_ONLY_RETENTION,
  VERIFY_EVERY_DAYS,
  STALE_BACKUP_DAYS,
  type RepositoryView,
} from "./repository-views.ts";

// snapshots
export { listSnapshots, dedupRatio, snapshotJson, type SnapshotRow, type SnapshotFilter, type SnapshotJson } from "./snapshots.ts";
export { getSnapshot, qubeNames, type SnapshotDetail, type QubeView, type VolumeView } from "./snapshot-detail.ts";
export { resolveSnapshotRef, findSnapshot, type SnapshotRefMatch } from "./snapshot-ref.ts";

// backup, restore, jobs
export { runBackup, type RunBackupOptions, type RunBackupResult } from "./backup.ts";
export { checkDumpQubes, runDump, type RunDumpOptions } from "./restore.ts";
export { failAbandonedJobs, processAlive, jobView, type JobView, type JobStatus } from "./jobs.ts";

// requests to dom0
export {
  requestBackup,
  requestRestore,
  requestRestorePoint,
  type RestorePointRequestInput,
  type BackupRequestInput,
  type RestoreRequestInput,
  type RequestEvents,
  type RequestOutcome,
  type RequestResult,
  type RequestState,
} from "./qrexec.ts";
export {
  qubeNameSchema,
  snapshotRefSchema,
  backupTaskInput,
  restoreTaskInput,
  restorePointTaskInput,
  MAX_QUBES,
  type BackupTaskInput,
  type RestoreTaskInput,
  type RestorePointTaskInput,
} from "./request-inputs.ts";
export { startBackup, startRestore, startRestorePoint, cancelTask, taskDone, getTask, listTasks, taskEnded, type TaskView, type TaskState } from "./tasks.ts";
export { progressFigures, etaSeconds, type ProgressFigures } from "./progress.ts";
export { checkProgressOf, checkRunFigures, followCheck, type CheckRunProgress } from "./check-progress.ts";
export { requestHistory, HISTORY_LIMIT, type RequestRecord } from "./history.ts";

// maintenance and schedules
export {
  applyRetention,
  previewRetention,
  keptRuns,
  retentionInput,
  getRetention,
  setRetention,
  type KeepPolicy,
  type RetentionResult,
  type RetentionRun,
  type RetentionOptions,
  type RetentionInput,
} from "./retention.ts";
export { repositoryVerification, snapshotVerification, verificationWarnings, type Verification, type VerificationResult } from "./verification.ts";
export { checkRepository, runMaintenance, listRuns, type MaintenanceRequest } from "./maintenance.ts";
export {
  SCHEDULE_KINDS,
  NEXT_RUNS,
  nextRuns,
  previousRun,
  readDataSubsetSchema,
  MIN_SCHEDULE_INTERVAL_S,
  shortestInterval,
  scheduleInput,
  listSchedules,
  createSchedule,
  setScheduleEnabled,
  removeSchedule,
  nextScheduledBackup,
  type ScheduleKind,
  type ScheduleInput,
  type ScheduleView,
} from "./schedules.ts";
export { tick, idle, startScheduler, TICK_SECONDS } from "./scheduler.ts";
export { reindex, type ReindexResult } from "./reindex.ts";
export { setWebhook, notifyWebhook, webhookInput, webhookView, WEBHOOK_METHODS, type WebhookInput, type WebhookMethod, type WebhookView, type JobOutcome, type DeliveryOptions } from "./webhook.ts";
export { prepareRepository, type PrepareOptions } from "./repository-care.ts";
export { readOrCreateToken, readToken, rotateToken, tokenFile, tokenMatches, TokenError, TOKEN_FILE_NAME } from "./web-token.ts";
export { formatBytes } from "./format.ts";
export { engineStatus, type EngineStatus } from "./engines.ts";

// dom0's ledger copies
export { storeLedgerCopy, fetchLedgerMaterial } from "./ledger-copy.ts";
export { listRestorePoints, qubesOverview, formatAge, type RestorePointView, type PointQubeView, type QubeOverview, type ChangeView } from "./restore-points.ts";

// single-file restore
export { openVolume, withVolume, listFiles, downloadToFile, parseQubeVolume, defaultTransport, FILE_VOLUMES, type FilesTarget, type FilesOptions, type OpenVolume } from "./files.ts";
export { openVolumeStream, type VolumeStreamOptions } from "./volume-stream.ts";
export { FilesError, escapeName, type Listing, type Entry } from "@qubes-dedup/files";
export { browseVolume, closeBrowsedVolumes, IDLE_SECONDS } from "./files-sessions.ts";
