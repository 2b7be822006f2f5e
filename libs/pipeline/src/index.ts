/**
 * Backup-stream parser, restic/borg engines, ingest and dump: the part of
 * qubes-dedup that turns a `qvm-backup` stream into snapshots and back.
 * stream/: the backup stream's formats; layout/: how a backup is laid out in a
 * repository (tags, side record, snapshot references); ops/: ingest, dump,
 * snapshot listings; engine/: restic and borg.
 */
export type { EngineKind, RepositoryRef, EngineSnapshot, Engine, StdinBackup, StdoutDump, DumpFileOptions } from "./engine/types.ts";
export { openEngine } from "./engine/index.ts";
export { appendOnlyRefusal, withoutPassword } from "./engine/common.ts";
export { ENGINE_BINARY_ENV, engineBinary, engineVersion, parseEngineVersion, type EngineVersion } from "./engine/binary.ts";
export { borgCheckProgress, resticCheckReader, type CheckProgress } from "./engine/check-progress.ts";
export { ingest } from "./ops/ingest.ts";
export type { IngestProgress, FileSummary, QubeSummary, IngestResult, IngestOptions } from "./ops/ingest.ts";
export { dump, type DumpResult, type DumpOptions } from "./ops/dump.ts";
export { listDataSnapshots, removeIncompleteRuns, readSnapshotInfo, type SnapshotInfo, type SnapshotSummary } from "./ops/snapshots.ts";
export { dataSnapshotsOf, incompleteRunsOf, isDataSnapshot, sideOf, pairedSideName } from "./layout/classify.ts";
export { shortSnapshotId, resolveSnapshot, matchSnapshotRef, MIN_REF_START, type SnapshotRefMatch as RefMatch } from "./layout/refs.ts";
export { PROJECT_TAG, RUN_TAG_PREFIX, DATA_TAG, SIDE_TAG, STREAM_FILE, DATA_FILE, SIDE_FILE, runTag, runIdOf, MACHINE_TAG_PREFIX, MACHINE_NAME_RULE, machineTag, machineNameProblem, ofMachine } from "./layout/tags.ts";
export type { IngestSummary } from "./layout/side-record.ts";
export { cacheableSideId, type SideRecordCache } from "./layout/side-cache.ts";
export { IngestError, EngineError, DumpError, ingestCancelled } from "./errors.ts";
export { parseBackupHeader, type BackupHeader } from "./stream/header.ts";
export { parseQubesXml, type QubeInfo, type VolumeInfo } from "./stream/qubes-xml.ts";
export { BackupStreamParser, type LayoutSink } from "./stream/parser.ts";
export { NO_TRAILER, SHIM_TRAILER, type TrailerFormat } from "./stream/trailer.ts";
export { LEDGER_TAG, LEDGER_FILE, ledgerCopiesOf } from "./layout/ledger-copy.ts";
export { storeLedgerCopy, newestLedgerCopy, backupHeaderFiles, headerFilesOf, MAX_LEDGER_COPY, type StoredLedgerCopy, type BackupHeaderFiles } from "./ops/ledger-copy.ts";
