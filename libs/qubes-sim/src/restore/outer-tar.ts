/**
 * Reader of the outer framing of a backup stream: concatenated tar archives
 * (one per file, each with its own end-of-archive zero blocks and record
 * padding), read with "ignore zeros" as `tar2qfile` and `tar -i` do. POSIX
 * (PAX `x`/`g`), GNU long names (`L`) and plain ustar headers are understood.
 */
import { ByteReader } from "../byte-reader.ts";
import { SimError } from "../errors.ts";

const BLOCK = 512;

/** A parsed 512-byte header block. */
export interface TarHeader {
  name: string;
  size: number;
  /** Typeflag character; "0" (or NUL) is a regular file. */
  type: string;
}

function field(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? len : nul).toString("utf8");
}

function octal(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    // GNU base-256 for big sizes.
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const t = field(b, off, len).trim();
  return t ? parseInt(t, 8) : 0;
}

/**
 * Parses one header block; null for an all-zero block.
 * @throws SimError on a checksum mismatch (not a tar stream).
 */
export function parseHeader(block: Buffer): TarHeader | null {
  if (block.every((x) => x === 0)) return null;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (sum !== octal(block, 148, 8)) throw new SimError("The backup stream is not a tar stream (header checksum mismatch); check the backup location.");
  const prefix = block.subarray(257, 262).toString("binary") === "ustar" ? field(block, 345, 155) : "";
  const name = field(block, 0, 100);
  return { name: prefix ? `${prefix}/${name}` : name, size: octal(block, 124, 12), type: String.fromCharCode(block[156]!) };
}

/** Parses PAX extended header records (`"<len> key=value\n"`...). */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(data.subarray(pos, sp).toString("ascii"), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, pos + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** A regular file of the outer stream; its body must be consumed or skipped before the next. */
export interface OuterEntry {
  name: string;
  size: number;
}

/** Iterates over the regular files of an outer backup stream. */
export class OuterTarReader {
  private readonly r: ByteReader;
  private pending = 0;
  private padAfter = 0;
  /** Bytes read so far (headers, data and padding). */
  bytes = 0;

  constructor(input: AsyncIterable<unknown>) {
    this.r = new ByteReader(input);
  }

  private async block(): Promise<Buffer | null> {
    const b = await this.r.readExact(BLOCK, true);
    if (b.length === 0) return null;
    if (b.length < BLOCK) throw new SimError("The backup stream ends inside a tar header; the backup is truncated.");
    this.bytes += BLOCK;
    return b;
  }

  private async data(size: number): Promise<Buffer> {
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const b = await this.r.readExact(padded).catch(() => {
      throw new SimError("The backup stream ends inside a file; the backup is truncated.");
    });
    this.bytes += padded;
    return b.subarray(0, size);
  }

  /** The next regular file, or null at the end of the stream. */
  async next(): Promise<OuterEntry | null> {
    if (this.pending || this.padAfter) await this.skip();
    let longName: string | undefined;
    for (;;) {
      const block = await this.block();
      if (!block) return null;
      const h = parseHeader(block);
      if (!h) continue;
      if (h.type === "x" || h.type === "g" || h.type === "L") {
        const body = await this.data(h.size);
        if (h.type === "x") longName = parsePax(body).path ?? longName;
        else if (h.type === "L") longName = body.toString("utf8").replace(/\0+$/, "");
        continue;
      }
      const name = longName ?? h.name;
      longName = undefined;
      if (h.type !== "0" && h.type !== "\0") {
        await this.data(h.size);
        continue;
      }
      this.pending = h.size;
      this.padAfter = Math.ceil(h.size / BLOCK) * BLOCK - h.size;
      return { name, size: h.size };
    }
  }

  /** Streams the current file's body to `sink` (in pieces, with back-pressure). */
  async body(sink: (piece: Buffer) => Promise<void> | void): Promise<void> {
    let left = this.pending;
    while (left > 0) {
      const b = await this.r.read(left);
      if (!b) throw new SimError("The backup stream ends inside a file; the backup is truncated.");
      left -= b.length;
      this.pending = left;
      this.bytes += b.length;
      await sink(b);
    }
    this.pending = 0;
    if (this.padAfter) {
      await this.r.readExact(this.padAfter).catch(() => {
        throw new SimError("The backup stream ends inside a file; the backup is truncated.");
      });
      this.bytes += this.padAfter;
      this.padAfter = 0;
    }
  }

  /** Skips the current file's body. */
  async skip(): Promise<void> {
    await this.body(() => {});
  }
}
