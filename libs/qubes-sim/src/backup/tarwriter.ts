/**
 * The inner stream Qubes writes for a block-device volume (backup format v4),
 * modelled on the facts of QubesOS/qubes-core-admin `qubes/tarwriter.py`
 * (our own code): one PAX archive member with GNU sparse format 1.0.
 *
 * Layout: a `././@PaxHeader` extended header (typeflag `x`) with records
 * `GNU.sparse.major=1`, `GNU.sparse.minor=0`, `GNU.sparse.name=<name>`,
 * `GNU.sparse.realsize=<bytes>`; then a ustar header named
 * `<dir>/GNUSparseFile.<pid>/<base>`, mode 0644, uid/gid 0, mtime 0, empty
 * uname/gname, whose size is the data bytes plus the sparse map; the sparse
 * map as text (`count\n` then `offset\nsize\n` per entry) NUL-padded to 512;
 * the data segments back to back; then two 512-byte zero blocks (no padding
 * to a 10240-byte record). Headers are byte-identical to Python's
 * `tarfile` PAX_FORMAT output (checked in tests).
 */
import fs from "node:fs/promises";
import { Readable } from "node:stream";

const BLOCKSIZE = 512;
/** Read size of the scan and copy loops (bytes), as in Qubes' writer. */
const BUF_SIZE = 409600;
const ZERO_BLOCK = Buffer.alloc(BLOCKSIZE);

/** One data segment of a sparse file: [offset, size] in bytes. */
export type SparseEntry = [number, number];

/**
 * Builds the sparse map of a byte sequence fed in pieces: 512-byte blocks
 * that are all zero are holes. Like Qubes' writer, the last entry always
 * reaches the end of the input (a zero-size entry at the end when the file
 * ends in a hole). Pieces must have a length that is a multiple of 512,
 * except the last.
 */
export class SparseMapBuilder {
  private readonly entries: SparseEntry[] = [];
  private inData = false;
  private start = 0;
  private pos = 0;

  /** Feeds the next piece of the file. */
  feed(buf: Uint8Array): void {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let off = 0; off < b.length; off += BLOCKSIZE) {
      const end = Math.min(off + BLOCKSIZE, b.length);
      const zero = end - off === BLOCKSIZE && b.compare(ZERO_BLOCK, 0, BLOCKSIZE, off, end) === 0;
      if (zero && this.inData) {
        this.inData = false;
        this.entries.push([this.start, this.pos + off - this.start]);
      } else if (!zero && !this.inData) {
        this.inData = true;
        this.start = this.pos + off;
      }
    }
    this.pos += b.length;
  }

  /** The finished map. */
  finish(): SparseEntry[] {
    const out = [...this.entries];
    out.push(this.inData ? [this.start, this.pos - this.start] : [this.pos, 0]);
    return out;
  }
}

/** Scans a file for its sparse map (one pass, constant memory). */
export async function sparseMapOfFile(path: string): Promise<SparseEntry[]> {
  const fh = await fs.open(path, "r");
  try {
    const builder = new SparseMapBuilder();
    const buf = Buffer.alloc(BUF_SIZE);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, BUF_SIZE, null);
      if (bytesRead === 0) break;
      builder.feed(buf.subarray(0, bytesRead));
    }
    return builder.finish();
  } finally {
    await fh.close();
  }
}

function stn(s: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  Buffer.from(s, "utf8").copy(b, 0, 0, len);
  return b;
}

function itn(n: number, digits: number): Buffer {
  return Buffer.from(n.toString(8).padStart(digits - 1, "0") + "\0", "ascii");
}

interface UstarInfo {
  name: string;
  mode: number;
  size: number;
  type: string;
}

/** A ustar header block with POSIX magic, as Python's tarfile builds it. */
function ustarHeader(info: UstarInfo): Buffer {
  const buf = Buffer.concat([
    stn(info.name, 100),
    itn(info.mode & 0o7777, 8),
    itn(0, 8),
    itn(0, 8),
    itn(info.size, 12),
    itn(0, 12),
    Buffer.from("        ", "ascii"),
    Buffer.from(info.type, "ascii"),
    stn("", 100),
    Buffer.from("ustar\x0000", "binary"),
    stn("", 32),
    stn("", 32),
    stn("", 8),
    stn("", 8),
    stn("", 155),
    Buffer.alloc(12),
  ]);
  let sum = 0;
  for (const byte of buf) sum += byte;
  Buffer.from(sum.toString(8).padStart(6, "0") + "\0", "ascii").copy(buf, 148);
  return buf;
}

function padTo512(b: Buffer): Buffer {
  const rem = b.length % BLOCKSIZE;
  return rem ? Buffer.concat([b, Buffer.alloc(BLOCKSIZE - rem)]) : b;
}

/** One PAX record `"<len> <key>=<value>\n"`, where len counts itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.byteLength(key) + Buffer.byteLength(value) + 3;
  let p = 0;
  for (;;) {
    const n = body + String(p).length;
    if (n === p) break;
    p = n;
  }
  return Buffer.from(`${p} ${key}=${value}\n`, "utf8");
}

/** The sparse map as Qubes stores it at the start of the member's data. */
export function sparseMapText(map: SparseEntry[]): Buffer {
  const txt = `${map.length}\n` + map.map(([o, s]) => `${o}\n${s}\n`).join("");
  return padTo512(Buffer.from(txt, "ascii"));
}

/**
 * All header bytes of the member for `name` (e.g. `vm3/private.img`) with
 * sparse map `map`, written by process `pid`: PAX header + records, ustar
 * header, sparse map. Data follows directly.
 */
export function sparseMemberHeader(name: string, map: SparseEntry[], pid: number): Buffer {
  const mapBuf = sparseMapText(map);
  const dataBytes = map.reduce((a, [, s]) => a + s, 0);
  const last = map[map.length - 1] ?? [0, 0];
  const pax: [string, string][] = [
    ["GNU.sparse.major", "1"],
    ["GNU.sparse.minor", "0"],
    ["GNU.sparse.name", name],
    ["GNU.sparse.realsize", String(last[0] + last[1])],
  ];
  const slash = name.lastIndexOf("/");
  const headerName = `${slash >= 0 ? name.slice(0, slash) : ""}/GNUSparseFile.${pid}/${name.slice(slash + 1)}`;
  let size = dataBytes + mapBuf.length;
  if (Buffer.byteLength(headerName) > 100) pax.push(["path", headerName]);
  if (size >= 8 ** 11) {
    pax.push(["size", String(size)]);
    size = 0;
  }
  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  return Buffer.concat([
    ustarHeader({ name: "././@PaxHeader", mode: 0, size: records.length, type: "x" }),
    padTo512(records),
    ustarHeader({ name: headerName, mode: 0o644, size, type: "0" }),
    mapBuf,
  ]);
}

async function* memberBytes(path: string, name: string, pid: number): AsyncGenerator<Buffer> {
  const map = await sparseMapOfFile(path);
  yield sparseMemberHeader(name, map, pid);
  const fh = await fs.open(path, "r");
  try {
    for (const [offset, size] of map) {
      let done = 0;
      while (done < size) {
        const want = Math.min(BUF_SIZE, size - done);
        const buf = Buffer.alloc(want);
        const { bytesRead } = await fh.read(buf, 0, want, offset + done);
        if (bytesRead === 0) throw new Error(`premature end of ${path} at byte ${offset + done}`);
        done += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    }
  } finally {
    await fh.close();
  }
  yield Buffer.alloc(2 * BLOCKSIZE);
}

/**
 * The inner stream of a volume image, as a Readable (constant memory: the
 * file is scanned once for its map, then read segment by segment).
 * @param path the image file.
 * @param name the name inside the archive, e.g. `vm3/private.img`.
 * @param pid the writer's process id, part of the ustar name.
 */
export function volumeInnerStream(path: string, name: string, pid: number = process.pid): Readable {
  return Readable.from(memberBytes(path, name, pid), { objectMode: false });
}
