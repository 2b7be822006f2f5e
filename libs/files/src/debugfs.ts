/**
 * The commands sent to e2fsprogs' `debugfs` and the parsers of its output
 * (e2fsprogs 1.47: `ls -p`, `stat`, error lines on stderr). Pure: bytes in,
 * values out. Every command names inodes by number (`<N>`), so no name read
 * from the filesystem, and no path a user typed, ever reaches debugfs's own
 * command parser.
 */
import { FilesError } from "./errors.ts";
import { escapeName } from "./escape.ts";

/** Inode of an ext2/3/4 filesystem's root directory (EXT2_ROOT_INO). */
export const ROOT_INODE = 2;

/** What an entry is, from its mode's file-type bits (S_IFMT). */
export type EntryKind = "file" | "dir" | "symlink" | "other";

/** One directory entry as `ls -p` prints it. */
export interface LsEntry {
  inode: number;
  /** the name as stored, decoded as UTF-8 (invalid bytes become U+FFFD); untrusted: show it through escapeName */
  name: string;
  kind: EntryKind;
  /** permission bits (mode & 0o7777) */
  perm: number;
  /** bytes, for everything but directories (debugfs prints none for those) */
  size: number | undefined;
}

/** What `stat <N>` says of one inode. */
export interface InodeStat {
  inode: number;
  kind: EntryKind;
  size: number;
  /** modification time, seconds since the epoch (with ext4's extra epoch bits) */
  mtime: number;
  /** target of a fast symlink (stored in the inode); slow ones are read with `cat` */
  fastLink?: string;
}

function kindOf(mode: number): EntryKind {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "dir";
    case 0o120000:
      return "symlink";
    default:
      return "other";
  }
}

/** `<N>` after checking N is an inode number (debugfs's inode syntax). */
export function inodeArg(inode: number): string {
  if (!Number.isSafeInteger(inode) || inode < 1 || inode > 0xffffffff) throw new RangeError(`${inode} is not an inode number`);
  return `<${inode}>`;
}

/** One record of `ls -p`: `/inode/mode/uid/gid/name/size/` then a newline; a name holds no `/` but may hold newlines. */
const LS_RECORD = /\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/([^/]*)\/(\d*)\/\n/y;

/**
 * Parses the output of `ls -p <dir>` (e2fsprogs 1.47 `ls -p`: one
 * `/ino/mode/uid/gid/name/size/` record per entry, then an empty line).
 * `.` and `..` are left out.
 * @throws FilesError ("bad-filesystem") when the output is not such records,
 *   which only a corrupt or crafted directory makes debugfs print
 */
export function parseLs(out: Buffer): LsEntry[] {
  const text = out.toString("utf8");
  const entries: LsEntry[] = [];
  LS_RECORD.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (text.startsWith("\n", pos) && pos === text.length - 1) break;
    LS_RECORD.lastIndex = pos;
    const m = LS_RECORD.exec(text);
    if (!m) throw new FilesError(`debugfs printed a directory entry that cannot be read (${escapeName(text.slice(pos, pos + 60))}), so the filesystem is corrupt; try the same volume in another snapshot.`, "bad-filesystem");
    pos = LS_RECORD.lastIndex;
    const name = m[5]!;
    if (name === "." || name === "..") continue;
    const mode = parseInt(m[2]!, 8);
    entries.push({ inode: Number(m[1]), name, kind: kindOf(mode), perm: mode & 0o7777, size: m[6] === "" ? undefined : Number(m[6]) });
  }
  return entries;
}

const STAT_TYPES: Record<string, EntryKind> = { regular: "file", directory: "dir", symlink: "symlink" };

/**
 * Parses the output of one `stat <N>` (e2fsprogs 1.47 layout: `Inode: N
 * Type: T`, `Size: N` on the User line, ` mtime: 0xSECS[:EXTRA] -- …`,
 * `Fast link dest: "…"` as its last line for fast symlinks).
 * @throws FilesError ("bad-filesystem") when the inode line or size is missing
 */
export function parseStat(text: string): InodeStat {
  const head = /Inode: (\d+)\s+Type: ([a-z ]+?)\s{2,}/.exec(text);
  const size = /Project:\s+\d+\s+Size: (\d+)/.exec(text) ?? /\bSize: (\d+)/.exec(text);
  if (!head || !size) throw new FilesError(`debugfs printed an inode that cannot be read, so the filesystem is corrupt; try the same volume in another snapshot.`, "bad-filesystem");
  const st: InodeStat = { inode: Number(head[1]), kind: STAT_TYPES[head[2]!] ?? "other", size: Number(size[1]), mtime: mtimeOf(text) };
  const link = /Fast link dest: "([\s\S]*)"\n?$/.exec(text);
  if (link) st.fastLink = link[1];
  return st;
}

/** ext4 stores 32 signed bits of seconds plus 2 epoch bits in the extra field (ext4 `EXT4_EPOCH_BITS`). */
function mtimeOf(text: string): number {
  const m = /^\s*mtime: 0x([0-9a-f]{1,8})(?::([0-9a-f]{1,8}))?/m.exec(text);
  if (!m) return 0;
  const secs = parseInt(m[1]!, 16) | 0;
  const epoch = m[2] ? parseInt(m[2], 16) & 3 : 0;
  return secs + epoch * 2 ** 32;
}

/**
 * Parses the output of several `ls -p` run with `debugfs -f`: each block
 * follows its echo line `debugfs: ls -p <N>`, in the order asked. A block
 * that does not parse (a corrupt directory) is left out.
 * @returns entries by directory inode
 */
export function parseLsBatch(out: Buffer, inodes: number[]): Map<number, LsEntry[]> {
  const text = out.toString("utf8");
  const res = new Map<number, LsEntry[]>();
  let pos = 0;
  const starts = inodes.map((ino) => {
    const mark = `debugfs: ls -p <${ino}>\n`;
    const at = text.indexOf(mark, pos);
    if (at >= 0) pos = at + mark.length;
    return at < 0 ? undefined : { ino, at, from: at + mark.length };
  });
  const found = starts.filter((x): x is { ino: number; at: number; from: number } => x !== undefined);
  found.forEach((s, i) => {
    const end = i + 1 < found.length ? found[i + 1]!.at : text.length;
    try {
      res.set(s.ino, parseLs(Buffer.from(text.slice(s.from, end))));
    } catch {
      // a directory debugfs cannot list is skipped by a search
    }
  });
  return res;
}

/** The echo line debugfs prints before each command read with `-f`. */
const ECHO = /^debugfs: stat <(\d+)>\n/gm;

/**
 * Parses the output of several `stat` commands run with `debugfs -f`
 * (each block follows its echo line `debugfs: stat <N>`). An inode whose
 * block cannot be read is left out.
 * @returns stats by inode number
 */
export function parseStats(text: string): Map<number, InodeStat> {
  const marks = [...text.matchAll(ECHO)];
  const out = new Map<number, InodeStat>();
  marks.forEach((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1]!.index : text.length;
    try {
      const st = parseStat(text.slice(m.index + m[0].length, end));
      if (st.inode === Number(m[1])) out.set(st.inode, st);
    } catch {
      // a corrupt inode shows without an mtime; its listing stays usable
    }
  });
  return out;
}

/**
 * What debugfs prints on stdout, before any output, when the primary
 * superblock's checksum fails and it falls back to a backup superblock
 * (e2fsprogs debugfs.c open_filesystem). The output that follows would be
 * read from a filesystem whose superblock was altered, so it is refused.
 */
const SUPERBLOCK_RETRY = "Checksum errors in superblock!";

/** The failure a debugfs stdout starting with a notice means, or undefined. @param head the first bytes of stdout */
export function stdoutFailure(head: Buffer): FilesError | undefined {
  if (head.toString("latin1", 0, SUPERBLOCK_RETRY.length) === SUPERBLOCK_RETRY)
    return new FilesError("the volume's ext4 superblock fails its checksum, so the filesystem is corrupt or was altered; try the same volume in another snapshot.", "bad-filesystem");
  return undefined;
}

/** Lines debugfs always prints on stderr (its banner). */
const BANNER = /^debugfs \d[\w.-]* \([^)]*\)$/;

/**
 * The failure debugfs reported on stderr, as one sentence, or undefined when
 * it printed only its banner. debugfs exits 0 on most failures, so stderr is
 * the only sign.
 * @param what what was being read, e.g. "the directory /home/user"
 */
export function debugfsFailure(stderr: string, what: string): FilesError | undefined {
  const lines = stderr.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "" && !BANNER.test(l));
  if (lines.length === 0) return undefined;
  const all = lines.join("\n");
  const quoted = escapeName(lines[0]!.replace(/^debugfs: /, "")).slice(0, 200);
  if (/Bad magic number in super-block|Filesystem revision too high/.test(all))
    return new FilesError(`the volume holds no ext4 filesystem (debugfs: ${quoted}); a private volume is one ext4 filesystem and a template's root is read from its root partition, so pick another volume.`, "bad-filesystem");
  if (/File not found by ext2_lookup/.test(all)) return new FilesError(`${what} does not exist in this snapshot; list its parent directory to see what is there.`, "not-found");
  if (/while trying to open|Filesystem not open/.test(all))
    return new FilesError(`the volume's ext4 filesystem cannot be opened, it is corrupt (debugfs: ${quoted}); try the same volume in another snapshot.`, "bad-filesystem");
  return new FilesError(`reading ${what} failed because the filesystem is corrupt (debugfs: ${quoted}); try the same volume in another snapshot.`, "bad-filesystem");
}
