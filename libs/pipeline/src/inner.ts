import { BLOCK, isZeroBlock, padded, parseHeader, parsePax, paxSize } from "./tar.ts";

/** Largest inner pax / GNU long-name payload held in memory (bytes). */
const MAX_META = 1 << 20;

type State = "header" | "meta" | "sparseExt" | "data" | "eof";

/**
 * Follows the inner tar stream of one backed-up file (GNU `tar -Pc --sparse`
 * or Qubes' `tarwriter`: PAX + GNU sparse 1.0, two zero blocks at the end)
 * across its chunks, to tell whether it ended with its end-of-archive blocks.
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
  private remaining = 0;
  private zeroRun = 0;
  private found = false;
  private captured: Buffer[] = [];
  private capturedBytes = 0;
  /** first defect found, if any; the tracker stops parsing after one */
  error: string | undefined;
  /** data bytes of regular members (as stored, sparse holes excluded) */
  dataBytes = 0;

  constructor(private readonly capture?: { name: string; maxBytes: number }) {}

  get complete(): boolean {
    return this.error === undefined && this.state === "eof";
  }

  /** Content of the captured member, once seen in full. */
  capturedContent(): Buffer | undefined {
    return this.found && this.captureLeft === 0 ? Buffer.concat(this.captured) : undefined;
  }

  write(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && this.error === undefined) {
      if (this.state === "eof") {
        if (!isZeroBlock(chunk.subarray(pos))) this.error = "data follows the end of the inner tar archive";
        return;
      }
      if (this.state === "data") {
        const n = Math.min(this.remaining, chunk.length - pos);
        this.onData(chunk.subarray(pos, pos + n));
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = "header";
        continue;
      }
      const target = this.state === "meta" ? this.meta! : this.block;
      const n = Math.min(target.length - this.fill, chunk.length - pos);
      target.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === target.length) {
        this.fill = 0;
        this.unit(target);
      }
    }
  }

  private onData(bytes: Uint8Array): void {
    if (this.captureLeft === 0) return;
    bytes = bytes.subarray(0, this.captureLeft);
    this.captureLeft -= bytes.length;
    this.capturedBytes += bytes.length;
    if (this.capturedBytes > this.capture!.maxBytes) {
      this.error = `${this.capture!.name} exceeds ${this.capture!.maxBytes} bytes`;
      return;
    }
    this.captured.push(Buffer.from(bytes));
  }

  private unit(b: Uint8Array): void {
    if (this.state === "meta") return this.metaDone(b);
    if (this.state === "sparseExt") {
      if ((b[504] ?? 0) === 0) this.state = this.remaining > 0 ? "data" : "header";
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
      this.error = `inner tar: ${h}`;
      return;
    }
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
    this.pax = undefined;
    this.longName = undefined;
    if (!Number.isSafeInteger(size)) {
      this.error = "inner tar: malformed pax size";
      return;
    }
    const regular = h.type === "0" || h.type === "7" || h.type === "S";
    if (regular) this.dataBytes += size;
    const capturing = regular && this.capture !== undefined && name === this.capture.name && !this.found;
    this.found ||= capturing;
    this.captureLeft = capturing ? size : 0;
    this.remaining = padded(size);
    this.state = h.gnuSparseExtended ? "sparseExt" : this.remaining > 0 ? "data" : "header";
  }

  private longName: string | undefined;
  /** bytes of the captured member still to come (its block padding excluded) */
  private captureLeft = 0;

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
