/**
 * The qubes-dedup `scrypt` shim: Qubes' call shapes and the pure install
 * plan used by `qubes-dedup-agent shim install|uninstall|status`. The
 * trailer and passphrase formats it implements live in
 * `@qubes-dedup/protocol/formats`, shared with the pipeline and dom0.
 * The executable itself is src/main.ts, bundled to dist/scrypt.
 */
export { parseCall, realScryptArgs, type ScryptCall } from "./call.ts";
export {
  DROP_IN_FILE,
  InstallConflictError,
  MANIFEST_FILE,
  REAL_SCRYPT_FILE,
  SHIM_DIR,
  SHIM_FILE,
  SYSTEMD_DEFAULT_PATH,
  describeOp,
  dropInText,
  installStatus,
  parseManifest,
  planInstall,
  planUninstall,
  wantedFiles,
  type InstallOp,
  type Manifest,
  type PathState,
  type StatusLine,
  type WantedFile,
} from "./install-plan.ts";
export {
  BACKUP_ID_RE,
  LedgerFormatError,
  chunkLabel,
  completeness,
  formatChunkRecord,
  formatJournalEntry,
  formatRestorePlan,
  headerBackupId,
  judgeChunk,
  lineFields,
  parseChunkRecords,
  parseJournal,
  parseRestorePlan,
  splitChunkPath,
  type ChunkRecord,
  type Completeness,
  type JournalEntry,
  type PlanFile,
  type RestorePlan,
} from "./ledger-format.ts";
export { RESTORE_RUN_ENV, STATE_DIR, STATE_DIR_ENV } from "./ledger.ts";
