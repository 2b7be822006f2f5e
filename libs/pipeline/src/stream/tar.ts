/**
 * Pure tar (ustar / GNU / PAX) header primitives shared by the outer-framing
 * parser and the inner-stream tracker. Facts: POSIX.1-2001 ustar layout and
 * pax records, GNU tar's base-256 numbers and old-style sparse headers.
 */
export const BLOCK = 512;
/** GNU tar's default record: blocking factor 20 × 512 bytes. */
export const RECORD = 10240;

export interface TarHeader {
  name: string;
  size: number;
  type: string;
  /** GNU old sparse: extension blocks follow the header */
  gnuSparseExtended: boolean;
}

/** Rounds a byte count up to whole 512-byte blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function cString(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("utf8");
}

/** Octal (NUL/space terminated) or GNU base-256 numeric field; NaN when malformed. */
export function tarNumber(b: Uint8Array, start: number, len: number): number {
  const first = b[start] ?? 0;
  if (first & 0x80) {
    let v = first & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + (b[i] ?? 0);
    return v;
  }
  const text = cString(b, start, len).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return NaN;
  return parseInt(text, 8);
}

/** Verifies the header checksum (unsigned sum, chksum field as spaces). */
export function checksumOk(b: Uint8Array): boolean {
  const stored = tarNumber(b, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (b[i] ?? 0);
  return sum === stored;
}

/**
 * Decodes one non-zero 512-byte header block.
 * @returns the header, or a string naming what is wrong with it
 */
export function parseHeader(b: Uint8Array): TarHeader | string {
  if (!checksumOk(b)) return "bad tar header checksum";
  const size = tarNumber(b, 124, 12);
  if (!Number.isSafeInteger(size) || size < 0) return "bad tar size field";
  const magic = cString(b, 257, 6);
  const ustar = magic === "ustar";
  const prefix = ustar ? cString(b, 345, 155) : "";
  const base = cString(b, 0, 100);
  const type = b[156] === 0 ? "0" : String.fromCharCode(b[156] ?? 48);
  return {
    name: prefix ? `${prefix}/${base}` : base,
    size,
    type,
    gnuSparseExtended: type === "S" && (b[482] ?? 0) !== 0,
  };
}

/**
 * Parses pax extended-header records ("<len> <key>=<value>\n").
 * @returns key/value map, or a string naming the defect
 */
export function parsePax(data: Uint8Array): Map<string, string> | string {
  const out = new Map<string, string>();
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break;
    const space = buf.indexOf(0x20, pos);
    if (space < 0) return "malformed pax record";
    const len = Number(buf.toString("latin1", pos, space));
    if (!Number.isSafeInteger(len) || len <= 0 || pos + len > buf.length) return "malformed pax record length";
    const rec = buf.toString("utf8", space + 1, pos + len - 1);
    const eq = rec.indexOf("=");
    if (eq < 0 || buf[pos + len - 1] !== 0x0a) return "malformed pax record";
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** Size override from pax records, or undefined. Returns NaN when malformed. */
export function paxSize(pax: Map<string, string> | undefined): number | undefined {
  const v = pax?.get("size");
  if (v === undefined) return undefined;
  return /^\d+$/.test(v) ? Number(v) : NaN;
}
