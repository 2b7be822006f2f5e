import { BLOCK, isZeroBlock, padded, parseHeader, parsePax, paxSize } from "./tar.ts";

/** Largest inner pax / GNU long-name payload held in memory (bytes). */
const MAX_META = 1 << 20;
/** Longest decimal number accepted in a GNU sparse 1.0 map (digits). */
const MAX_DIGITS = 20;
/** Longest sparse map text kept out of the data (bytes); a longer one is treated as data. */
const MAX_MAP = 16 << 20;

type State = "header" | "meta" | "sparseExt" | "data" | "eof";

/**
 * Where the bytes of an inner stream go: `meta` is per-run or structural
 * (tar headers, pax records, sparse maps, block padding, end blocks), and
 * `content` is the members' data, the only part worth deduplicating.
 * Every byte goes to exactly one of them, in stream order, during the
 * `write` call that delivered it.
 */
export interface InnerSink {
  meta(bytes: Uint8Array): void;
  content(bytes: Uint8Array): void;
}

/**
 * Streaming reader of the GNU sparse 1.0 map at the start of a member's
 * data (`count\n` then `offset\nsize\n` per entry, NUL-padded to 512
 * bytes; GNU tar manual, "Storing Sparse Files", and Qubes' `tarwriter.py`).
 * Only counts and checks; keeps no entries.
 */
class SparseMapText {
  private numbers = 0;
  private needed = 1;
  private digits = 0;
  private count = 0;
  /** bytes of map text seen, its final newline included */
  length = 0;
  done = false;
  failed = false;

  /** Consumes bytes up to the map's last newline; returns how many it took. */
  feed(b: Uint8Array): number {
    let i = 0;
    for (; i < b.length && !this.done && !this.failed; i++) {
      const c = b[i]!;
      if (c >= 0x30 && c <= 0x39) {
        if (++this.digits > MAX_DIGITS) this.failed = true;
        if (this.numbers === 0) this.count = this.count * 10 + (c - 0x30);
      } else if (c === 0x0a && this.digits > 0) {
        this.digits = 0;
        if (++this.numbers === 1) this.needed = 1 + 2 * this.count;
        if (this.numbers === this.needed) this.done = true;
      } else this.failed = true;
    }
    this.length += i;
    if (!this.done && this.length > MAX_MAP) this.failed = true;
    return i;
  }
}

/**
 * Follows the inner tar stream of one backed-up file (GNU `tar -Pc --sparse`
 * with old-GNU sparse headers, or Qubes' `tarwriter`: PAX + GNU sparse 1.0
 * with the map at the start of the data) across its chunks: tells whether it
 * ended with its end-of-archive blocks, and splits it into meta and content
 * for the canonical layout. A stream whose first block is not a tar header
 * is of an unknown format: it is passed on whole as content (`raw`).
 * Can capture the content of one named member (used for `qubes.xml`).
 * Memory: one header block, at most 1 MiB of pax data, the captured member.
 */
export class InnerTarTracker {
  private state: State = "header";
  private block = new Uint8Array(BLOCK);
  private fill = 0;
  private meta: Uint8Array | undefined;
  private metaType = "";
  private metaLen = 0;
  private pax: Map<string, string> | undefined;
  private zeroRun = 0;
  private headers = 0;
  private found = false;
  private captured: Buffer[] = [];
  private capturedBytes = 0;
  private longName: string | undefined;
  /** bytes of the captured member still to come */
  private captureLeft = 0;
  /** current member: stored size, bytes of its padded data region seen, end of its meta prefix */
  private size = 0;
  private regionLeft = 0;
  private pos = 0;
  private metaEnd = 0;
  private map: SparseMapText | undefined;
  /** first defect found, if any; the tracker stops parsing after one */
  error: string | undefined;
  /** true when the stream is not tar (unknown format): everything is content */
  raw = false;
  /** data bytes of regular members (as stored, sparse holes excluded) */
  dataBytes = 0;

  constructor(private readonly opts: { capture?: { name: string; maxBytes: number }; sink?: InnerSink } = {}) {}

  get complete(): boolean {
    return this.error === undefined && this.state === "eof";
  }

  /** True while no byte of the stream was found to be tar (so it may be an unknown format). */
  get undecided(): boolean {
    return !this.raw && this.headers === 0 && this.zeroRun === 0 && this.error === undefined;
  }

  /** Content of the captured member, once seen in full. */
  capturedContent(): Buffer | undefined {
    return this.found && this.captureLeft === 0 ? Buffer.concat(this.captured) : undefined;
  }

  write(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.raw || this.error !== undefined) {
        this.opts.sink?.content(chunk.subarray(pos));
        return;
      }
      if (this.state === "eof") {
        const rest = chunk.subarray(pos);
        if (!isZeroBlock(rest)) this.error = "data follows the end of the inner tar archive";
        this.opts.sink?.meta(rest);
        return;
      }
      if (this.state === "data") {
        pos += this.region(chunk.subarray(pos, pos + Math.min(this.regionLeft, chunk.length - pos)));
        continue;
      }
      const target = this.state === "meta" ? this.meta! : this.block;
      const n = Math.min(target.length - this.fill, chunk.length - pos);
      target.set(chunk.subarray(pos, pos + n), this.fill);
      this.opts.sink?.meta(chunk.subarray(pos, pos + n));
      this.fill += n;
      pos += n;
      if (this.fill === target.length) {
        this.fill = 0;
        this.unit(target);
      }
    }
  }

  /** Routes bytes of a member's padded data region: sparse map, data, padding. Returns bytes taken. */
  private region(b: Uint8Array): number {
    let n: number;
    if (this.map) {
      n = this.map.feed(b);
      this.opts.sink?.meta(b.subarray(0, n));
      if (this.map.done) this.metaEnd = Math.min(padded(this.map.length), this.size);
      if (this.map.failed) this.metaEnd = this.pos + n;
      if (this.map.done || this.map.failed) this.map = undefined;
    } else if (this.pos < this.metaEnd) {
      n = Math.min(this.metaEnd - this.pos, b.length);
      this.opts.sink?.meta(b.subarray(0, n));
    } else if (this.pos < this.size) {
      n = Math.min(this.size - this.pos, b.length);
      this.opts.sink?.content(b.subarray(0, n));
      this.onData(b.subarray(0, n));
    } else {
      n = b.length;
      this.opts.sink?.meta(b);
    }
    this.pos += n;
    this.regionLeft -= n;
    if (this.regionLeft === 0) {
      this.map = undefined;
      this.state = "header";
    }
    return n;
  }

  private onData(bytes: Uint8Array): void {
    if (this.captureLeft === 0) return;
    const cap = this.opts.capture!;
    bytes = bytes.subarray(0, this.captureLeft);
    this.captureLeft -= bytes.length;
    this.capturedBytes += bytes.length;
    if (this.capturedBytes > cap.maxBytes) {
      this.error = `${cap.name} exceeds ${cap.maxBytes} bytes`;
      return;
    }
    this.captured.push(Buffer.from(bytes));
  }

  private unit(b: Uint8Array): void {
    if (this.state === "meta") return this.metaDone(b);
    if (this.state === "sparseExt") {
      if ((b[504] ?? 0) === 0) this.state = this.regionLeft > 0 ? "data" : "header";
      return;
    }
    if (isZeroBlock(b)) {
      if (this.pax) this.error = "an inner pax header is followed by zero blocks";
      else if (++this.zeroRun === 2) this.state = "eof";
      return;
    }
    if (this.zeroRun > 0) {
      this.error = "a lone zero block inside the inner tar archive";
      return;
    }
    this.header(b);
  }

  private header(b: Uint8Array): void {
    const h = parseHeader(b);
    if (typeof h === "string") {
      if (this.headers === 0) this.raw = true;
      else this.error = `inner tar: ${h}`;
      return;
    }
    this.headers++;
    if (h.type === "x" || h.type === "g" || h.type === "L" || h.type === "K") {
      if (h.size > MAX_META) {
        this.error = `an inner tar metadata entry of ${h.size} bytes is too large`;
        return;
      }
      this.metaType = h.type;
      this.metaLen = h.size;
      this.meta = new Uint8Array(padded(h.size));
      this.state = this.meta.length ? "meta" : "header";
      return;
    }
    const size = paxSize(this.pax) ?? h.size;
    const name = this.pax?.get("path") ?? this.longName ?? h.name;
    const sparse1 = this.pax?.get("GNU.sparse.major") === "1";
    this.pax = undefined;
    this.longName = undefined;
    if (!Number.isSafeInteger(size)) {
      this.error = "inner tar: malformed pax size";
      return;
    }
    const regular = h.type === "0" || h.type === "7" || h.type === "S";
    if (regular) this.dataBytes += size;
    const cap = this.opts.capture;
    const capturing = regular && cap !== undefined && name === cap.name && !this.found;
    this.found ||= capturing;
    this.captureLeft = capturing ? size : 0;
    this.startRegion(size, regular && sparse1);
    this.state = h.gnuSparseExtended ? "sparseExt" : this.regionLeft > 0 ? "data" : "header";
  }

  private startRegion(size: number, sparseMap: boolean): void {
    this.size = size;
    this.regionLeft = padded(size);
    this.pos = 0;
    this.metaEnd = 0;
    this.map = sparseMap && size > 0 ? new SparseMapText() : undefined;
  }

  private metaDone(b: Uint8Array): void {
    const data = b.subarray(0, this.metaLen);
    this.meta = undefined;
    this.state = "header";
    if (this.metaType === "x") {
      const recs = parsePax(data);
      if (typeof recs === "string") this.error = `inner tar: ${recs}`;
      else this.pax = recs;
    } else if (this.metaType === "L") {
      this.longName = Buffer.from(data).toString("utf8").replace(/\0+$/, "");
    }
  }
}
