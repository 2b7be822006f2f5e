/**
 * Single-file restore: rebuild one volume of a snapshot as a sparse image,
 * find its filesystem (a template root's partition), and read it only
 * through a sandboxed reader (bubblewrap here, a disposable qube on Qubes):
 * listings, file contents, directories as tar. Names are untrusted and shown
 * escaped. Parsing (debugfs output, partition tables, request lines) is pure.
 */
export { FilesError, type FilesErrorCode } from "./errors.ts";
export { escapeName, needsEscape } from "./escape.ts";
export { parseLs, parseLsBatch, parseStat, parseStats, debugfsFailure, stdoutFailure, inodeArg, ROOT_INODE, type EntryKind, type LsEntry, type InodeStat } from "./debugfs.ts";
export { encodeRequest, decodeRequest, checkRequest, batched, debugfsCommands, deviceArg, MAX_STAT_BATCH, REQUEST_MAGIC, type FsOp, type FsRequest } from "./request.ts";
export type { FsTransport, RunOptions, RunResult } from "./transport.ts";
export { BwrapTransport, bwrapArgs, type SandboxTools } from "./bwrap.ts";
export { QrexecTransport, FS_SERVICE } from "./qrexec.ts";
export { readPartitionTable, filesystemOffset, TABLE_BYTES, type Partition, type PartitionTable } from "./partition.ts";
export { rebuildImage, IMAGE_NAME } from "./image.ts";
export { VolumeBrowser, MAX_ENTRIES, MAX_SYMLINKS, SEARCH_BATCH, SEARCH_MAX_DIRS, type BrowseLimits, type Entry, type Listing, type Resolved } from "./browser.ts";
