/**
 * Backup-stream parser, restic/borg engines, ingest and dump: the part of
 * qubes-dedup that turns a `qvm-backup` stream into snapshots and back.
 */
export type { EngineKind, RepositoryRef, EngineSnapshot, Engine, StdinBackup, StdoutDump } from "./engine/types.ts";
export { openEngine } from "./engine/index.ts";
export { ingest, STREAM_FILE, PROJECT_TAG, DATA_TAG, SIDE_TAG, RUN_TAG_PREFIX } from "./ingest.ts";
export type { IngestProgress, FileSummary, QubeSummary, IngestResult, IngestOptions } from "./ingest.ts";
export { dump, type DumpResult, type DumpOptions } from "./dump.ts";
export { listDataSnapshots, dataSnapshotsOf, isDataSnapshot, sideOf, runTagOf, readSnapshotInfo, pairedSideName, type SnapshotInfo, type SnapshotSummary } from "./snapshots.ts";
export type { IngestSummary } from "./canonical.ts";
export { IngestError, EngineError, DumpError } from "./errors.ts";
export { parseBackupHeader, type BackupHeader } from "./header.ts";
export { parseQubesXml, type QubeInfo, type VolumeInfo } from "./qubes-xml.ts";
export { StreamAnalyzer } from "./analyzer.ts";
export { NO_TRAILER, SHIM_TRAILER, type TrailerFormat } from "./trailer.ts";
