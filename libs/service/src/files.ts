/**
 * Single-file restore (#14): rebuild one volume of a snapshot as a sparse
 * image in a scratch directory, and browse or download from it through the
 * sandboxed reader of libs/files. The image is removed when done (the
 * dashboard keeps it for a few minutes of browsing).
 */
import fs from "node:fs";
import path from "node:path";
import { BwrapTransport, FilesError, QrexecTransport, TABLE_BYTES, VolumeBrowser, filesystemOffset, readPartitionTable, rebuildImage, type FsTransport, type Listing } from "@qubes-dedup/files";
import type { Database } from "@qubes-dedup/db";
import { dataDirectory } from "./database.ts";
import { sideCacheFor } from "./side-cache.ts";
import { ServiceError } from "./errors.ts";
import { engineFor, getRepository } from "./repositories.ts";
import { findSnapshot } from "./snapshot-ref.ts";
import { openVolumeStream } from "./volume-stream.ts";

/** Which volume to read. */
export interface FilesTarget {
  repository: string;
  /** a snapshot reference (see resolveSnapshotRef) */
  snapshot: string;
  qube: string;
  /** "private" (default) or "root" */
  volume?: string;
}

/** Options of the file functions. */
export interface FilesOptions {
  /** the sandboxed reader; default: a disposable qube on Qubes, bubblewrap elsewhere ({@link defaultTransport}) */
  transport?: FsTransport;
  /** largest download (bytes); default 1 GiB */
  maxDownloadBytes?: number;
  /** where images are rebuilt; default `<data directory>/scratch` ($QUBES_DEDUP_SCRATCH) */
  scratchDir?: string;
  /** seconds one sandboxed read may take; default 60 */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** The volume names a user may give. */
export const FILE_VOLUMES = ["private", "root"] as const;

/**
 * Splits `<qube>[:volume]` (CLI syntax).
 * @throws ServiceError on an unknown volume
 */
export function parseQubeVolume(spec: string): { qube: string; volume: string } {
  const [qube, volume = "private", ...rest] = spec.split(":");
  if (!qube || rest.length > 0 || !(FILE_VOLUMES as readonly string[]).includes(volume)) throw new ServiceError(`"${spec}" is not <qube>[:private|:root]; name a qube and optionally its volume.`);
  return { qube, volume };
}

/** The reader: qrexec to a disposable qube in a Qubes VM, else bubblewrap ($QUBES_DEDUP_FILES_SANDBOX=bwrap|qrexec overrides). */
export function defaultTransport(): FsTransport {
  const pick = process.env.QUBES_DEDUP_FILES_SANDBOX;
  if (pick === "qrexec" || (pick !== "bwrap" && fs.existsSync("/usr/bin/qrexec-client-vm"))) return new QrexecTransport();
  return new BwrapTransport();
}

/** A rebuilt volume, open for browsing until {@link OpenVolume.close}. */
export interface OpenVolume {
  browser: VolumeBrowser;
  qube: string;
  volume: string;
  /** the snapshot's engine id */
  snapshot: string;
  /** apparent size of the image (bytes) */
  imageBytes: number;
  /** byte offset of the filesystem in the image (a template root's partition) */
  offset: number;
  /** removes the image */
  close(): void;
}

/**
 * Rebuilds a volume of a snapshot and opens it for browsing.
 * @throws ServiceError (unknown repository, snapshot, qube or volume;
 *   compressed backups), FilesError (no ext4, no Linux partition), DumpError, EngineError
 */
export async function openVolume(db: Database, target: FilesTarget, opts: FilesOptions = {}): Promise<OpenVolume> {
  const volume = target.volume ?? "private";
  parseQubeVolume(`${target.qube}:${volume}`);
  const repo = await getRepository(db, target.repository);
  const row = await findSnapshot(db, repo.id, target.snapshot);
  const snapshot = row?.engineSnapshotId ?? target.snapshot;
  const base = opts.scratchDir ?? process.env.QUBES_DEDUP_SCRATCH ?? path.join(dataDirectory(), "scratch");
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = fs.mkdtempSync(path.join(base, "volume-"));
  const close = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const inner = openVolumeStream(engineFor(repo), snapshot, target.qube, volume, { expectedSha256: row?.streamSha256, sideSnapshotId: row?.sideSnapshotId ?? undefined, sideCache: sideCacheFor(db, repo.id), signal: opts.signal });
    const image = await rebuildImage(inner, dir);
    const offset = findFilesystem(image.path, image.size, target.qube, volume);
    const browser = new VolumeBrowser(opts.transport ?? defaultTransport(), image.path, offset, { maxDownloadBytes: opts.maxDownloadBytes, timeoutSeconds: opts.timeoutSeconds });
    return { browser, qube: target.qube, volume, snapshot, imageBytes: image.size, offset, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** The filesystem's offset: 0 for a bare filesystem, a root partition's start for a partitioned volume. */
function findFilesystem(image: string, size: number, qube: string, volume: string): number {
  const head = Buffer.alloc(Math.min(TABLE_BYTES, size));
  const fd = fs.openSync(image, "r");
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const offset = filesystemOffset(readPartitionTable(head, size));
  if (offset === undefined) throw new FilesError(`the ${volume} volume of ${qube} has a partition table with no Linux partition, so there is no filesystem to browse; pick another volume.`, "bad-filesystem");
  return offset;
}

/** Runs `fn` on an opened volume and removes the image afterwards. */
export async function withVolume<T>(db: Database, target: FilesTarget, fn: (v: OpenVolume) => Promise<T>, opts: FilesOptions = {}): Promise<T> {
  const v = await openVolume(db, target, opts);
  try {
    return await fn(v);
  } finally {
    v.close();
  }
}

/** `files ls`: lists a directory of a volume. */
export async function listFiles(db: Database, target: FilesTarget, dirPath: string, opts: FilesOptions = {}): Promise<Listing> {
  return withVolume(db, target, (v) => v.browser.list(dirPath), opts);
}

/**
 * Writes a file (or a directory as tar) to `outPath`: first to a temporary
 * name next to it, renamed at the end, so a failure leaves nothing behind
 * and never a half-written file under the asked name.
 */
export async function downloadToFile(browser: VolumeBrowser, filePath: string, outPath: string): Promise<{ kind: "file" | "tar"; bytes: number; name: string }> {
  const tmp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.partial-${process.pid}-${Date.now()}`);
  // opened at once, so the catch below removes a file that exists
  const out = fs.createWriteStream(tmp, { fd: fs.openSync(tmp, "wx", 0o600) });
  try {
    const r = await browser.download(filePath, out);
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    fs.renameSync(tmp, outPath);
    return r;
  } catch (e) {
    out.destroy();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
