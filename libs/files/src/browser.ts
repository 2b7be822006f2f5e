/**
 * Browsing one rebuilt volume image through a sandboxed reader: path
 * resolution (done here, over inode numbers, so symlink loops and `..` are
 * ours to bound), listings with mtimes, a file's bytes, a directory as tar.
 */
import { FilesError } from "./errors.ts";
import { escapeName } from "./escape.ts";
import { Writable } from "node:stream";
import { debugfsFailure, stdoutFailure, parseLs, parseLsBatch, parseStats, ROOT_INODE, type EntryKind, type LsEntry } from "./debugfs.ts";
import { MAX_STAT_BATCH, type FsRequest } from "./request.ts";
import type { FsTransport, RunOptions } from "./transport.ts";

/** Most symlinks followed while resolving one path (Linux's MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;
/** Most entries a listing shows; the rest are counted, not shown. */
export const MAX_ENTRIES = MAX_STAT_BATCH;
/** Most bytes of `ls -p` output accepted for one directory. */
const MAX_LS_BYTES = 32 << 20;
/** Longest symlink target read (PATH_MAX). */
const MAX_LINK = 4096;

/** Directories listed per sandboxed run of a search. */
export const SEARCH_BATCH = 200;
/** Most directories a search lists. */
export const SEARCH_MAX_DIRS = 20_000;

/** Limits of a browser. */
export interface BrowseLimits {
  /** largest file or directory (as tar) a download may be, bytes; default 1 GiB */
  maxDownloadBytes?: number;
  /** seconds one listing may take before its reader is killed; default 60 */
  timeoutSeconds?: number;
}

/** One shown directory entry. */
export interface Entry {
  /** the stored name (decoded as UTF-8); untrusted: show `display` */
  name: string;
  /** the name escaped for display (escapeName) */
  display: string;
  kind: EntryKind;
  /** bytes (files and symlinks) */
  size?: number;
  /** seconds since the epoch, when debugfs could read the inode */
  mtime?: number;
  perm: number;
}

export interface Listing {
  /** the resolved path, `/`-separated, from the filesystem's root */
  path: string;
  entries: Entry[];
  /** entries in the directory; more than entries.length when cut at MAX_ENTRIES */
  total: number;
}

/** Where a path led. */
export interface Resolved {
  inode: number;
  kind: EntryKind;
  size: number | undefined;
  /** the names from the root, symlinks resolved */
  names: string[];
}

/**
 * Reads the ext4 filesystem at `offset` in the image at `image` through
 * `transport`; never parses the image itself.
 * All methods throw FilesError: "not-found" (missing path, a file where a
 * directory was named), "too-large", "bad-filesystem" (not ext4, corrupt,
 * symlink loop), "sandbox".
 */
export class VolumeBrowser {
  readonly maxDownloadBytes: number;
  private readonly timeout: number;
  private readonly dirs = new Map<number, LsEntry[]>();

  constructor(
    private readonly transport: FsTransport,
    private readonly image: string,
    private readonly offset: number,
    limits: BrowseLimits = {},
  ) {
    this.maxDownloadBytes = limits.maxDownloadBytes ?? 1 << 30;
    this.timeout = limits.timeoutSeconds ?? 60;
  }

  private async run(req: Omit<FsRequest, "offset">, what: string, opts: Partial<RunOptions> = {}) {
    const head = headOf(opts.output);
    const r = await this.transport.run(this.image, { ...req, offset: this.offset }, { maxBytes: MAX_LS_BYTES, timeoutSeconds: this.timeout, ...opts, output: head?.tap }).catch((e) => {
      // the notice came before the content and pushed it over its size
      throw (head && stdoutFailure(head.bytes())) ?? e;
    });
    const failure = stdoutFailure(head ? head.bytes() : r.stdout) ?? debugfsFailure(r.stderr, what);
    if (failure) throw failure;
    return r;
  }

  private async readDir(inode: number, what: string): Promise<LsEntry[]> {
    let d = this.dirs.get(inode);
    if (!d) {
      const r = await this.run({ op: "ls", inodes: [inode] }, what).catch((e) => {
        throw e instanceof FilesError && e.code === "too-large" ? new FilesError(`${what} has too many entries to list (over ${MAX_LS_BYTES} bytes of listing); it may be crafted, open a subdirectory instead.`, "too-large") : e;
      });
      d = parseLs(r.stdout);
      this.dirs.set(inode, d);
    }
    return d;
  }

  private async linkTarget(inode: number, size: number | undefined, what: string): Promise<string> {
    const st = (await this.run({ op: "stat", inodes: [inode] }, what)).stdout.toString("utf8");
    const fast = parseStats(st).get(inode)?.fastLink;
    if (fast !== undefined) return fast;
    if ((size ?? 0) > MAX_LINK) throw new FilesError(`the symlink ${what} is longer than ${MAX_LINK} bytes, so the filesystem is corrupt or crafted; open its target directly.`, "bad-filesystem");
    return (await this.run({ op: "cat", inodes: [inode] }, what, { maxBytes: MAX_LINK })).stdout.toString("utf8");
  }

  /**
   * Resolves `path` (from the root; `.`, `..`, repeated `/` allowed),
   * following symlinks inside the volume (an absolute target is relative to
   * the volume's root), the last component too when `followLast`.
   */
  async resolve(path: string, followLast = true): Promise<Resolved> {
    let stack: { inode: number; name: string }[] = [];
    let todo = split(path);
    let hops = 0;
    let cur: Resolved = { inode: ROOT_INODE, kind: "dir", size: undefined, names: [] };
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === "..") {
        stack.pop();
        cur = { inode: stack.at(-1)?.inode ?? ROOT_INODE, kind: "dir", size: undefined, names: stack.map((s) => s.name) };
        continue;
      }
      const here = "/" + [...cur.names, name].join("/");
      if (cur.kind !== "dir") throw new FilesError(`${escapeName("/" + cur.names.join("/"))} is not a directory, so ${escapeName(here)} does not exist; list its parent directory.`, "not-found");
      const e = (await this.readDir(cur.inode, escapeName("/" + cur.names.join("/")))).find((x) => x.name === name);
      if (!e) throw new FilesError(`${escapeName(here)} does not exist in this snapshot; list its parent directory to see what is there.`, "not-found");
      if (e.kind === "symlink" && (todo.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINKS) throw new FilesError(`${escapeName(path)} leads through more than ${MAX_SYMLINKS} symlinks, a symlink loop; open the target path directly.`, "bad-filesystem");
        const target = await this.linkTarget(e.inode, e.size, escapeName(here));
        if (target.startsWith("/")) stack = [];
        todo = [...split(target), ...todo];
        cur = { inode: stack.at(-1)?.inode ?? ROOT_INODE, kind: "dir", size: undefined, names: stack.map((s) => s.name) };
        continue;
      }
      stack.push({ inode: e.inode, name });
      cur = { inode: e.inode, kind: e.kind, size: e.size, names: stack.map((s) => s.name) };
    }
    return cur;
  }

  /** Lists a directory: names (escaped for display too), kinds, sizes, mtimes, at most MAX_ENTRIES. */
  async list(path: string): Promise<Listing> {
    const d = await this.resolve(path);
    const shown = "/" + d.names.join("/");
    if (d.kind !== "dir") throw new FilesError(`${escapeName(shown)} is a ${d.kind === "file" ? "file" : d.kind}, not a directory; download it with "files get" instead.`, "not-found");
    const all = await this.readDir(d.inode, escapeName(shown));
    const cut = all.slice(0, MAX_ENTRIES);
    const stats = cut.length > 0 ? parseStats((await this.run({ op: "stat", inodes: cut.map((e) => e.inode) }, escapeName(shown))).stdout.toString("utf8")) : new Map();
    const entries = cut.map((e) => ({ name: e.name, display: escapeName(e.name), kind: e.kind, size: e.size, mtime: stats.get(e.inode)?.mtime, perm: e.perm }));
    return { path: shown, entries, total: all.length };
  }

  /**
   * Finds entries whose name contains `needle` (case-insensitive) under
   * `path`, breadth first, listing up to {@link SEARCH_BATCH} directories
   * per sandboxed run; stops after {@link SEARCH_MAX_DIRS} directories or
   * `maxResults` hits. Symlinks are reported, not followed.
   * @returns hits with their full paths (`display` escaped) and whether the search stopped early
   */
  async search(needle: string, path = "/", maxResults = 200): Promise<{ hits: (Entry & { path: string; displayPath: string })[]; complete: boolean }> {
    const start = await this.resolve(path);
    if (start.kind !== "dir") throw new FilesError(`${escapeName("/" + start.names.join("/"))} is not a directory, so there is nothing to search in; give a directory.`, "not-found");
    const want = needle.toLowerCase();
    const hits: (Entry & { path: string; displayPath: string })[] = [];
    let queue = [{ inode: start.inode, path: "/" + start.names.join("/") }];
    let seen = 0;
    const visited = new Set<number>();
    while (queue.length > 0 && hits.length < maxResults) {
      const batch = queue.slice(0, SEARCH_BATCH).filter((d) => !visited.has(d.inode));
      queue = queue.slice(SEARCH_BATCH);
      if (batch.length === 0) continue;
      batch.forEach((d) => visited.add(d.inode));
      seen += batch.length;
      const r = await this.run({ op: "ls", inodes: batch.map((d) => d.inode) }, escapeName(batch[0]!.path));
      // one directory runs as `-R` (no echo line), more as a `-f` batch
      const lists = batch.length === 1 ? new Map([[batch[0]!.inode, parseLs(r.stdout)]]) : parseLsBatch(r.stdout, batch.map((d) => d.inode));
      for (const d of batch) {
        for (const e of lists.get(d.inode) ?? []) {
          const p = `${d.path === "/" ? "" : d.path}/${e.name}`;
          if (e.name.toLowerCase().includes(want) && hits.length < maxResults) hits.push({ name: e.name, display: escapeName(e.name), kind: e.kind, size: e.size, perm: e.perm, path: p, displayPath: escapeName(p) });
          if (e.kind === "dir" && e.name !== "lost+found") queue.push({ inode: e.inode, path: p });
        }
      }
      if (seen >= SEARCH_MAX_DIRS) break;
    }
    return { hits, complete: queue.length === 0 && hits.length < maxResults };
  }

  /**
   * Resolves what a download of `path` would send and refuses, before any
   * byte, what it cannot: a device, fifo or socket, a file over the limit.
   * A directory's size is known only once copied (download refuses it then).
   */
  async checkDownload(path: string): Promise<Resolved> {
    const r = await this.resolve(path);
    const shown = escapeName("/" + r.names.join("/"));
    if (r.kind !== "file" && r.kind !== "dir") throw new FilesError(`${shown} is a ${r.kind === "symlink" ? "symlink" : "device, fifo or socket"}, not a file or directory, so it has no content to download.`, "not-found");
    if (r.kind === "file" && (r.size ?? 0) > this.maxDownloadBytes) throw tooLarge(shown, this.maxDownloadBytes, r.size);
    return r;
  }

  /**
   * Writes a file's bytes to `output`; a directory is written as a GNU tar
   * archive of its content (names relative, `./…`).
   * @returns what was sent: "file" or "tar", and the bytes written
   */
  async download(path: string, output: NodeJS.WritableStream): Promise<{ kind: "file" | "tar"; bytes: number; name: string }> {
    const r = await this.checkDownload(path);
    const shown = escapeName("/" + r.names.join("/"));
    const name = r.names.at(-1) ?? "root";
    const limit = this.maxDownloadBytes;
    if (r.kind === "dir") {
      const scratch = limit + (1 << 20);
      const res = await this.transport
        .run(this.image, { op: "tar", inodes: [r.inode], offset: this.offset }, { maxBytes: scratch * 2, scratchBytes: scratch, timeoutSeconds: this.timeout + limit / (20 << 20), output })
        .catch((e) => {
          throw e instanceof FilesError && e.code === "too-large" ? tooLarge(shown, limit) : e;
        });
      if (/No space left on device/.test(res.stderr)) throw tooLarge(shown, limit);
      const failure = debugfsFailure(res.stderr, shown);
      if (failure) throw failure;
      return { kind: "tar", bytes: res.bytes, name };
    }
    const size = r.size ?? 0;
    const res = await this.run({ op: "cat", inodes: [r.inode] }, shown, { maxBytes: size, output, timeoutSeconds: this.timeout + size / (20 << 20) });
    if (res.bytes !== size) throw new FilesError(`only ${res.bytes} of the ${size} bytes of ${shown} could be read, so the filesystem is corrupt; try the same file in another snapshot.`, "bad-filesystem");
    return { kind: "file", bytes: res.bytes, name };
  }
}

function tooLarge(shown: string, limit: number, size?: number): FilesError {
  const what = size === undefined ? "holds more than" : `is ${size} bytes, over`;
  return new FilesError(`${shown} ${what} the download limit of ${limit} bytes; download a smaller part or raise the limit (--max-bytes).`, "too-large");
}

/** A pass-through to `output` that keeps the first 64 bytes (for {@link stdoutFailure}). */
function headOf(output: NodeJS.WritableStream | undefined): { tap: Writable; bytes: () => Buffer } | undefined {
  if (!output) return undefined;
  let head = Buffer.alloc(0);
  const tap = new Writable({
    write(chunk: Buffer, _e, cb) {
      if (head.length < 64) head = Buffer.concat([head, chunk.subarray(0, 64 - head.length)]);
      if (output.write(chunk)) cb();
      else output.once("drain", () => cb());
    },
  });
  return { tap, bytes: () => head };
}

function split(path: string): string[] {
  return path.split("/").filter((x) => x !== "" && x !== ".");
}
