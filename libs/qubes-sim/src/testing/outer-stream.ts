/**
 * Test support for tampering with a backup stream as a compromised backup
 * qube could: the stream (backup format v4) is a concatenation of separate
 * tar archives, one per file, each padded to 10240-byte records. These
 * helpers cut it into those archives and put it back together, so a test
 * can drop, swap, replace or add whole files without touching their bytes.
 */

/** One file of the outer stream: its name and its whole tar archive. */
export interface OuterMember {
  name: string;
  bytes: Buffer;
}

const BLOCK = 512;
const RECORD = 10240;

function field(h: Buffer, start: number, len: number): string {
  return h.subarray(start, start + len).toString("utf8").replace(/\0.*$/s, "");
}

function size(h: Buffer): number {
  return parseInt(field(h, 124, 12).trim() || "0", 8);
}

function paxPath(data: Buffer): string | undefined {
  for (let off = 0; off < data.length; ) {
    const sp = data.indexOf(0x20, off);
    const len = Number(data.subarray(off, sp).toString("latin1"));
    if (!(len > 0)) break;
    const rec = data.subarray(sp + 1, off + len - 1).toString("utf8");
    if (rec.startsWith("path=")) return rec.slice(5);
    off += len;
  }
  return undefined;
}

/**
 * Cuts a whole outer stream into its archives, in order.
 * @throws Error when the bytes are not such a stream.
 */
export function splitOuterStream(stream: Buffer): OuterMember[] {
  const out: OuterMember[] = [];
  let start = 0;
  while (start + BLOCK <= stream.length) {
    let off = start;
    let name: string | undefined;
    for (;;) {
      const h = stream.subarray(off, off + BLOCK);
      if (h.length < BLOCK) throw new Error(`the stream is cut inside the archive at byte ${start}`);
      if (h.every((b) => b === 0)) {
        if (off === start) return out;
        throw new Error(`no file header at byte ${off}`);
      }
      const type = String.fromCharCode(h[156]!);
      const n = size(h);
      const data = stream.subarray(off + BLOCK, off + BLOCK + n);
      off += BLOCK + Math.ceil(n / BLOCK) * BLOCK;
      if (type === "x") name = paxPath(data) ?? name;
      else if (type !== "g") {
        const prefix = field(h, 345, 155);
        name ??= prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100);
        break;
      }
    }
    const end = start + Math.ceil((off - start + 2 * BLOCK) / RECORD) * RECORD;
    out.push({ name, bytes: stream.subarray(start, end) });
    start = end;
  }
  return out;
}

/** The stream made of `members`, in order. */
export function joinOuterStream(members: OuterMember[]): Buffer {
  return Buffer.concat(members.map((m) => m.bytes));
}

/**
 * `m` under another name (ustar name field and header checksum rewritten),
 * its content unchanged: a file moved inside the stream.
 * @throws Error when the name does not fit the ustar field or a PAX record names the path.
 */
export function renameMember(m: OuterMember, name: string): OuterMember {
  const bytes = Buffer.from(m.bytes);
  let off = 0;
  while (String.fromCharCode(bytes[off + 156]!) === "x" || String.fromCharCode(bytes[off + 156]!) === "g") {
    const n = size(bytes.subarray(off, off + BLOCK));
    if (paxPath(bytes.subarray(off + BLOCK, off + BLOCK + n)) !== undefined) throw new Error(`${m.name} carries its path in a PAX record; rename it another way`);
    off += BLOCK + Math.ceil(n / BLOCK) * BLOCK;
  }
  if (Buffer.byteLength(name) > 99) throw new Error(`${name} does not fit the ustar name field`);
  const h = bytes.subarray(off, off + BLOCK);
  h.fill(0, 0, 100);
  h.write(name, 0, "utf8");
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return { name, bytes };
}
