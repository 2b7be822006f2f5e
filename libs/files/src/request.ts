/**
 * One request to the filesystem reader in the sandbox (bubblewrap here, the
 * `qubes-dedup.ReadFilesystem` qrexec service in a disposable qube on Qubes),
 * and its wire form, the first line the qrexec service reads. Only inode
 * numbers and byte offsets cross: the reader builds its debugfs commands
 * itself, so nothing from the filesystem or the user is ever parsed as a
 * command on either side.
 */
import { inodeArg } from "./debugfs.ts";

/**
 * ls: `ls -p` of up to {@link MAX_STAT_BATCH} directories (a search's
 * batch; one for a listing); stat: `stat` of up to as many inodes; cat: the bytes of one inode; tar: `rdump` of one directory into a
 * size-limited tmpfs, sent as a GNU tar archive of its content.
 */
export type FsOp = "ls" | "stat" | "cat" | "tar";

export interface FsRequest {
  op: FsOp;
  inodes: number[];
  /** byte offset of the filesystem in the image (a template root's partition; 0 for a private volume) */
  offset: number;
}

/** Most inodes one stat request may name. */
export const MAX_STAT_BATCH = 5000;

/** Version word of the wire form. */
export const REQUEST_MAGIC = "qubes-dedup-files/1";

/** Checks a request; throws RangeError naming what is wrong. */
export function checkRequest(req: FsRequest): void {
  if (!["ls", "stat", "cat", "tar"].includes(req.op)) throw new RangeError(`unknown operation ${String(req.op)}`);
  if (!Number.isSafeInteger(req.offset) || req.offset < 0 || req.offset % 512 !== 0) throw new RangeError(`offset ${req.offset} is not a multiple of 512 bytes`);
  const n = req.inodes.length;
  const many = req.op === "stat" || req.op === "ls";
  if (n === 0 || (!many && n !== 1) || n > MAX_STAT_BATCH) throw new RangeError(`${req.op} takes ${many ? `1 to ${MAX_STAT_BATCH} inodes` : "one inode"}, not ${n}`);
  req.inodes.forEach(inodeArg);
}

/** `qubes-dedup-files/1 <op> <offset> <inode>...` and a newline: the line the qrexec service reads first. */
export function encodeRequest(req: FsRequest): string {
  checkRequest(req);
  return `${REQUEST_MAGIC} ${req.op} ${req.offset} ${req.inodes.join(" ")}\n`;
}

/** Parses {@link encodeRequest}'s line (without its newline). @throws RangeError on anything else */
export function decodeRequest(line: string): FsRequest {
  const w = line.split(" ");
  if (w[0] !== REQUEST_MAGIC || w.length < 4 || !w.slice(2).every((x) => /^\d{1,16}$/.test(x))) throw new RangeError("not a qubes-dedup-files/1 request line");
  const req = { op: w[1] as FsOp, offset: Number(w[2]), inodes: w.slice(3).map(Number) };
  checkRequest(req);
  return req;
}

/** True when the request's commands go to `debugfs -f -` on stdin (several of them, each echoed before its output). */
export function batched(req: FsRequest): boolean {
  return req.op === "stat" || (req.op === "ls" && req.inodes.length > 1);
}

/** The debugfs commands a request runs (for ls, stat and cat; tar runs `rdump <N> /tmp`). */
export function debugfsCommands(req: FsRequest): string[] {
  checkRequest(req);
  return req.op === "tar" ? [`rdump ${inodeArg(req.inodes[0]!)} /tmp`] : req.inodes.map((i) => `${req.op === "ls" ? "ls -p" : req.op} ${inodeArg(i)}`);
}

/** debugfs's device argument: the image, with e2fsprogs' unix_io `offset=` option when the filesystem starts further in. */
export function deviceArg(image: string, offset: number): string {
  return offset === 0 ? image : `${image}?offset=${offset}`;
}
