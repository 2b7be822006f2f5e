import { IngestError } from "../errors.ts";
import { classifyName, type MemberName } from "./member-names.ts";
import { BLOCK, RECORD, isZeroBlock, padded, parseHeader, parsePax, paxSize } from "./tar.ts";

/** Largest pax extended header accepted in the outer framing (bytes). */
const MAX_PAX = 65536;

export interface OuterMember {
  name: string;
  size: number;
  kind: MemberName;
  /** stream offset of the member's first data byte */
  offset: number;
}

/** Receives the outer framing split into per-run framing bytes and member payloads. */
export interface OuterSink {
  /** header blocks, pax data, block padding, end-of-archive zeros (in stream order) */
  framing(bytes: Uint8Array): void;
  memberStart(m: OuterMember): void;
  /** payload bytes; valid only during the call unless copied */
  memberData(bytes: Uint8Array): void;
  memberEnd(m: OuterMember): void;
}

type State = "header" | "pax" | "data" | "pad";

/**
 * Streaming parser of the outer framing of a Qubes backup: a concatenation of
 * single-member `tar -cO --posix` archives, each closed by zero blocks and
 * padded to 10240-byte records (qubes-core-admin `SendWorker`). Holds at most
 * one header block or one pax header in memory; payloads pass through as
 * sub-arrays of the input.
 * Throws IngestError on any defect, naming the offset and member.
 */
export class OuterParser {
  private state: State = "header";
  private block = new Uint8Array(BLOCK);
  private fill = 0;
  private paxBuf: Uint8Array | undefined;
  private pax: Map<string, string> | undefined;
  private remaining = 0;
  private padLeft = 0;
  private member: OuterMember | undefined;
  private lastMember: OuterMember | undefined;
  /** zero blocks seen since the last member (undefined: no member yet) */
  private zeroRun: number | undefined;
  private inArchive = false;
  /** bytes consumed so far */
  offset = 0;
  members = 0;

  constructor(private readonly sink: OuterSink) {}

  /** Feeds the next piece of the stream. */
  write(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === "data") {
        const n = Math.min(this.remaining, chunk.length - pos);
        if (n > 0) this.sink.memberData(chunk.subarray(pos, pos + n));
        pos += n;
        this.offset += n;
        this.remaining -= n;
        if (this.remaining === 0) this.afterData();
        continue;
      }
      const want = this.state === "pax" ? this.paxBuf!.length : this.state === "pad" ? this.padLeft : BLOCK;
      const target = this.state === "pax" ? this.paxBuf! : this.block;
      const n = Math.min(want - this.fill, chunk.length - pos);
      target.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      this.offset += n;
      if (this.fill === want) {
        this.fill = 0;
        this.completeUnit(target.subarray(0, want));
      }
    }
  }

  /** Description of where the stream currently is, for error messages. */
  where(): string {
    const m = this.member ?? this.lastMember;
    if (!m) return `after ${this.offset} bytes`;
    return `after ${this.offset} bytes in ${m.name}`;
  }

  /** Declares end of input; throws IngestError unless the last archive is complete. */
  end(): void {
    if (this.members === 0) this.fail("it holds no tar member, so it is not a Qubes backup");
    const closed =
      this.state === "header" && this.fill === 0 && !this.inArchive && this.offset % RECORD === 0;
    if (!closed) this.fail("the last tar archive is incomplete", true);
  }

  private fail(why: string, ended = false): never {
    const pre = ended ? "the backup stream ended" : "the backup stream is malformed";
    throw new IngestError(`${pre} ${this.where()}: ${why}; it was not stored, run the backup again.`);
  }

  private completeUnit(bytes: Uint8Array): void {
    if (this.state === "pax") return this.completePax(bytes);
    if (this.state === "pad") {
      if (!isZeroBlock(bytes)) this.fail("the padding after a member is not zero");
      this.sink.framing(bytes);
      return this.finishMember();
    }
    this.completeHeader(bytes);
  }

  private completeHeader(b: Uint8Array): void {
    if (isZeroBlock(b)) {
      if (this.zeroRun === undefined && !this.pax) this.fail("it starts with zero blocks, so it is not a Qubes backup");
      if (this.pax) this.fail("a pax header is followed by zero blocks");
      this.zeroRun = (this.zeroRun ?? 0) + 1;
      if (this.zeroRun >= 2 && this.offset % RECORD === 0) this.inArchive = false;
      this.sink.framing(b);
      return;
    }
    if (!this.pax) {
      if (this.zeroRun !== undefined && this.zeroRun < 2) this.fail("an archive holds more than one member");
      if ((this.offset - BLOCK) % RECORD !== 0) this.fail("an archive does not start on a 10240-byte record boundary");
    }
    const h = parseHeader(b);
    if (typeof h === "string") {
      this.fail(this.members === 0 && !this.pax ? "it does not start with a tar header, so it is not a Qubes backup" : h);
    }
    this.inArchive = true;
    this.zeroRun = undefined;
    this.sink.framing(b);
    if (h.type === "x") {
      if (this.pax) this.fail("two pax headers in a row");
      if (h.size > MAX_PAX) this.fail(`a pax header of ${h.size} bytes exceeds ${MAX_PAX}`);
      this.paxBuf = new Uint8Array(padded(h.size));
      this.pax = new Map();
      this.paxLen = h.size;
      this.state = this.paxBuf.length ? "pax" : "header";
      return;
    }
    if (h.type !== "0") this.fail(`a member of tar type '${h.type}' is not a regular file`);
    this.startMember(h.name, h.size);
  }

  private paxLen = 0;

  private completePax(bytes: Uint8Array): void {
    const recs = parsePax(bytes.subarray(0, this.paxLen));
    if (typeof recs === "string") this.fail(recs);
    if (!isZeroBlock(bytes.subarray(this.paxLen))) this.fail("the padding after a pax header is not zero");
    this.sink.framing(bytes);
    this.pax = recs;
    this.paxBuf = undefined;
    this.state = "header";
  }

  private startMember(headerName: string, headerSize: number): void {
    const name = this.pax?.get("path") ?? headerName;
    const size = paxSize(this.pax) ?? headerSize;
    this.pax = undefined;
    if (!Number.isSafeInteger(size)) this.fail("a pax size record is malformed");
    if (this.members === 0 && name !== "backup-header")
      this.fail(`the first member is ${JSON.stringify(name.slice(0, 100))}, not backup-header, so it is not a Qubes backup`);
    const kind = classifyName(name);
    if (typeof kind === "string") this.fail(`the member name ${JSON.stringify(name)} is refused: ${kind}`);
    this.member = { name, size, kind, offset: this.offset };
    this.members++;
    this.sink.memberStart(this.member);
    this.remaining = size;
    this.state = "data";
    if (size === 0) this.afterData();
  }

  private afterData(): void {
    this.padLeft = padded(this.member!.size) - this.member!.size;
    if (this.padLeft > 0) this.state = "pad";
    else this.finishMember();
  }

  private finishMember(): void {
    const m = this.member!;
    this.state = "header";
    this.lastMember = m;
    this.member = undefined;
    this.zeroRun = 0;
    this.sink.memberEnd(m);
  }
}
