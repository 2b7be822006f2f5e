import zlib from "node:zlib";
import { IngestError } from "../errors.ts";
import { MAX_HEADER_BYTES, parseBackupHeader, type BackupHeader } from "./header.ts";
import { InnerTarTracker } from "./inner.ts";
import { OuterParser, type OuterMember, type OuterSink } from "./outer.ts";
import { parseQubesXml, type QubeInfo } from "./qubes-xml.ts";
import { NO_TRAILER, type TrailerFormat } from "./trailer.ts";

/** Largest qubes.xml accepted (bytes). */
const MAX_QUBES_XML = 32 << 20;
const SCRYPT_MAGIC = Buffer.from("scrypt\0", "latin1");

/** What a layout writer receives, in stream order, besides the raw bytes. */
export interface LayoutSink {
  /** outer tar framing: headers, pax data, padding, zero blocks */
  framing(bytes: Uint8Array): void;
  memberStart(m: OuterMember): void;
  /** `backup-header` / `.hmac` content */
  small(bytes: Uint8Array): void;
  /** chunk bytes that belong to the file's inner stream and are member data (or of an unknown format) */
  payload(bytes: Uint8Array): void;
  /** chunk bytes of the inner stream's own framing: tar headers, pax records, sparse maps, padding, end blocks */
  innerMeta(bytes: Uint8Array): void;
  /** the chunk's MAC trailer (authenticated shim) */
  trailer(bytes: Uint8Array): void;
  memberEnd(m: OuterMember): void;
}

export interface FileState {
  /** path without `.NNN.enc`, e.g. `vm3/private.img` */
  path: string;
  chunks: number;
  /** inner-stream bytes (trailers excluded) */
  streamBytes: number;
  scryptEncrypted: boolean;
  /** the inner stream is not tar: stored as it is, unchecked */
  unknownFormat?: boolean;
}

/**
 * Parses a Qubes backup stream (format v4) incrementally, as it passes, and
 * checks it whole: the outer tar framing and member order, the backup-header
 * pair, each file's chunks and inner tar stream, and that every qube
 * `qubes.xml` marks as backed up is present with its save_on_stop volumes.
 * Once the `.hmac` or a chunk ends with a valid MAC trailer (of `trailerFormat`),
 * every later chunk must: one without is a chunk the shim failed on in dom0.
 * Feed it with {@link write} (any chunking), then call {@link end}; it keeps
 * no stream data, only what it found (`header`, `qubes`, `files`, `warnings`).
 * Every byte is also handed, classified, to the optional {@link LayoutSink}
 * (the canonical layout's writer, layout/side-record.ts).
 * @throws IngestError from write() or end(), naming where and why, on any defect
 */
export class BackupStreamParser implements OuterSink {
  readonly outer = new OuterParser(this);
  header: BackupHeader | undefined;
  qubes: QubeInfo[] | undefined;
  readonly files = new Map<string, FileState>();
  readonly warnings: string[] = [];
  private cur: FileState | undefined;
  private tracker: InnerTarTracker | undefined;
  private rawXml: Buffer[] | undefined;
  private small: Buffer[] = [];
  private member: OuterMember | undefined;
  private memberLeft = 0;
  private dataLeft = 0;
  private tail: Uint8Array | undefined;
  private tailFill = 0;
  private probe = Buffer.alloc(0);
  private hmacSeen = false;
  /** the header's `.hmac` or an earlier chunk ended with a valid MAC trailer: every chunk must */
  private trailered = false;

  constructor(
    private readonly layout?: LayoutSink,
    private readonly trailerFormat: TrailerFormat = NO_TRAILER,
    private readonly onFile?: (path: string) => void,
  ) {}

  write(chunk: Uint8Array): void {
    this.outer.write(chunk);
  }

  /** Ends the stream; throws IngestError unless the backup is complete. */
  end(): void {
    this.outer.end();
    this.closeFile(true);
    if (!this.header || !this.hmacSeen) this.failEnded("the backup-header pair is missing");
    if (!this.files.has("qubes.xml")) this.failEnded("qubes.xml.000.enc is missing");
    if (this.qubes) this.checkAllPresent();
    if (this.plainChunks > 0 && !this.warnings.some((w) => w.startsWith("chunks are scrypt-encrypted")))
      this.warnings.push(
        `${this.plainChunks} chunk${this.plainChunks === 1 ? "" : "s"} carried no qubes-dedup MAC trailer, so a restore cannot detect tampering with them: check the shim in dom0 with "qubes-dedup-agent doctor".`,
      );
  }

  /** Sum of `backup-size` of the qubes in the backup (bytes), once qubes.xml is known. */
  expectedBytes(): number | undefined {
    return this.qubes?.filter((q) => q.backupContent).reduce((a, q) => a + (q.backupSize ?? 0), 0);
  }

  private fail(why: string): never {
    throw new IngestError(`the backup stream is malformed ${this.outer.where()}: ${why}; it was not stored, run the backup again.`);
  }

  private failEnded(why: string): never {
    throw new IngestError(`the backup stream ended ${this.outer.where()}: ${why}; it was not stored, run the backup again.`);
  }

  framing(bytes: Uint8Array): void {
    this.layout?.framing(bytes);
  }

  memberStart(m: OuterMember): void {
    this.member = m;
    this.memberLeft = m.size;
    const n = this.outer.members;
    const k = m.kind;
    if (n === 1 && k.kind !== "header") this.fail("the first member must be backup-header, so this is not a Qubes backup");
    if (n === 2 && k.kind !== "hmac") this.fail("backup-header.hmac must follow backup-header");
    if (n > 2 && k.kind !== "chunk") this.fail(`${m.name} appears twice`);
    if (n === 3 && (k.kind !== "chunk" || k.file !== "qubes.xml")) this.fail("qubes.xml.000.enc must follow the header files");
    this.layout?.memberStart(m);
    if (k.kind !== "chunk") {
      if (m.size > MAX_HEADER_BYTES) this.fail(`${m.name} is ${m.size} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
      this.small = [];
    } else this.startChunk(k.file, k.index, m.size);
    if (m.size === 0) this.dataComplete(m);
  }

  private startChunk(path: string, index: number, size: number): void {
    if (!this.cur || this.cur.path !== path) {
      this.closeFile();
      if (this.files.has(path)) this.fail(`chunks of ${path} are not contiguous`);
      if (index !== 0) this.fail(`the first chunk of ${path} is number ${index}, not 000`);
      if (this.qubes && !this.ownerOf(path)) this.fail(`${path} belongs to no qube that qubes.xml marks for backup`);
      this.cur = { path, chunks: 0, streamBytes: 0, scryptEncrypted: false };
      this.files.set(path, this.cur);
      this.probe = Buffer.alloc(0);
      this.tracker = this.newTracker(path);
      this.onFile?.(path);
    } else if (index !== this.cur.chunks) {
      this.fail(`chunk ${index} of ${path} follows chunk ${this.cur.chunks - 1}`);
    }
    this.cur.chunks++;
    const tl = this.trailerFormat.length;
    this.dataLeft = tl > 0 && size >= tl ? size - tl : size;
    this.tail = tl > 0 && size >= tl ? new Uint8Array(tl) : undefined;
    this.tailFill = 0;
  }

  private newTracker(path: string): InnerTarTracker | undefined {
    const compressed = this.header?.compressed ?? false;
    const sink = { meta: (b: Uint8Array) => this.layout?.innerMeta(b), content: (b: Uint8Array) => this.layout?.payload(b) };
    if (path === "qubes.xml") {
      if (compressed) {
        this.rawXml = [];
        return undefined;
      }
      return new InnerTarTracker({ capture: { name: "qubes.xml", maxBytes: MAX_QUBES_XML }, sink });
    }
    return compressed ? undefined : new InnerTarTracker({ sink });
  }

  memberData(bytes: Uint8Array): void {
    this.chunkData(bytes);
    this.memberLeft -= bytes.length;
    if (this.memberLeft === 0) this.dataComplete(this.member!);
  }

  private chunkData(bytes: Uint8Array): void {
    const k = this.member!.kind;
    if (k.kind !== "chunk") {
      this.small.push(Buffer.from(bytes));
      return;
    }
    let pos = 0;
    if (this.dataLeft > 0) {
      const n = Math.min(this.dataLeft, bytes.length);
      this.payload(bytes.subarray(0, n));
      this.dataLeft -= n;
      pos = n;
    }
    if (pos < bytes.length) {
      this.tail!.set(bytes.subarray(pos), this.tailFill);
      this.tailFill += bytes.length - pos;
    }
  }

  private payload(bytes: Uint8Array): void {
    const f = this.cur!;
    if (f.streamBytes < SCRYPT_MAGIC.length) {
      this.probe = Buffer.concat([this.probe, bytes.subarray(0, SCRYPT_MAGIC.length - this.probe.length)]);
      if (this.probe.equals(SCRYPT_MAGIC)) this.markEncrypted(f);
    }
    f.streamBytes += bytes.length;
    if (f.scryptEncrypted || !this.tracker) this.layout?.payload(bytes);
    if (f.scryptEncrypted) return;
    if (this.tracker) this.track(f, this.tracker, bytes);
    if (this.rawXml) {
      this.rawXml.push(Buffer.from(bytes));
      if (f.streamBytes > MAX_QUBES_XML) this.fail(`qubes.xml exceeds ${MAX_QUBES_XML} bytes`);
    }
  }

  /** Feeds the inner stream to its tracker; an inner defect ends the ingest at once. */
  private track(f: FileState, t: InnerTarTracker, bytes: Uint8Array): void {
    t.write(bytes);
    if (t.error) this.fail(`the inner stream of ${f.path} ${t.error}`);
    if (t.raw && !f.unknownFormat) this.unknownFormat(f);
  }

  private unknownFormat(f: FileState): void {
    if (f.path === "qubes.xml") this.fail("the inner stream of qubes.xml is not a tar archive");
    f.unknownFormat = true;
    this.warnings.push(`the inner stream of ${f.path} is not a tar archive, so it was stored as it is, without completeness check or per-member deduplication.`);
  }

  private markEncrypted(f: FileState): void {
    f.scryptEncrypted = true;
    this.tracker = undefined;
    this.rawXml = undefined;
    if (!this.warnings.some((w) => w.startsWith("chunks are scrypt-encrypted")))
      this.warnings.push("chunks are scrypt-encrypted (the dedup shim was not used), so the qubes cannot be listed or checked and nothing will deduplicate.");
  }

  memberEnd(m: OuterMember): void {
    this.layout?.memberEnd(m);
  }

  /** The member's last data byte has passed (its block padding has not yet). */
  private dataComplete(m: OuterMember): void {
    const k = m.kind;
    if (k.kind === "header") {
      const content = Buffer.concat(this.small);
      this.layout?.small(content);
      this.header = parseBackupHeader(content);
      if (this.header.compressed)
        this.warnings.push(`the backup is compressed (${this.header.compressionFilter ?? "gzip"}), so it will deduplicate poorly; run qvm-backup with --no-compress.`);
    } else if (k.kind === "hmac") {
      const content = Buffer.concat(this.small);
      this.layout?.small(content);
      this.hmacSeen = true;
      const tl = this.trailerFormat.length;
      if (tl > 0 && content.length >= tl && this.trailerFormat.matches(content.subarray(content.length - tl), content.length)) this.trailered = true;
    } else if (this.tail && this.trailerFormat.matches(this.tail, m.size)) {
      this.layout?.trailer(this.tail);
      this.trailers++;
      this.trailered = true;
      this.tail = undefined;
    } else {
      if (this.trailered) this.brokenChunk(m);
      if (this.tail) {
        this.plainChunks++;
        this.payload(this.tail);
        this.tail = undefined;
      }
    }
  }

  /**
   * A chunk without a valid trailer in a stream whose earlier members carry
   * them: the shim failed on it in dom0 (qubesd only logs scrypt's exit
   * status and sends whatever file exists; DESIGN.md), so it is damaged.
   */
  private brokenChunk(m: OuterMember): never {
    throw new IngestError(
      `the chunk ${m.name} carries no valid qubes-dedup MAC trailer although the stream before it does, so the shim failed on it in dom0; the backup was not stored, run it again.`,
    );
  }

  /** chunks that ended with a shim MAC trailer */
  trailers = 0;
  /** chunks (of files other than the header pair) that ended without one */
  plainChunks = 0;

  private closeFile(ended = false): void {
    const f = this.cur;
    if (!f) return;
    this.cur = undefined;
    if (this.tracker?.undecided && f.streamBytes > 0 && f.path !== "qubes.xml") this.unknownFormat(f);
    else if (this.tracker && !this.tracker.raw && !this.tracker.complete)
      (ended && !this.tracker.error ? this.failEnded.bind(this) : this.fail.bind(this))(`the inner stream of ${f.path} ${this.tracker.error ?? "did not reach its end-of-archive blocks"}`);
    if (f.path === "qubes.xml" && !f.scryptEncrypted) this.readQubesXml();
    this.tracker = undefined;
  }

  private readQubesXml(): void {
    let content: Buffer | undefined;
    if (this.rawXml) {
      const filter = this.header?.compressionFilter ?? "gzip";
      if (filter !== "gzip") {
        this.warnings.push(`qubes.xml is compressed with ${filter}, so the qubes in the backup cannot be listed or checked.`);
        this.rawXml = undefined;
        return;
      }
      const t = new InnerTarTracker({ capture: { name: "qubes.xml", maxBytes: MAX_QUBES_XML } });
      try {
        t.write(zlib.gunzipSync(Buffer.concat(this.rawXml), { maxOutputLength: MAX_QUBES_XML * 2 }));
      } catch {
        this.fail("the compressed qubes.xml does not decompress");
      }
      this.rawXml = undefined;
      content = t.capturedContent();
    } else content = this.tracker?.capturedContent();
    if (!content) this.fail("the qubes.xml chunk holds no qubes.xml member");
    this.qubes = parseQubesXml(content.toString("utf8"));
  }

  /** The qube whose backup-path covers `path`. */
  ownerOf(path: string): QubeInfo | undefined {
    return this.qubes?.find((q) => {
      if (!q.backupContent || !q.backupPath) return false;
      const p = q.backupPath;
      return path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`);
    });
  }

  private checkAllPresent(): void {
    for (const q of this.qubes!.filter((x) => x.backupContent)) {
      if (!q.backupPath) this.failEnded(`qubes.xml gives qube ${q.name} no backup-path`);
      const dir = q.backupPath.endsWith("/") ? q.backupPath : `${q.backupPath}/`;
      const needed = q.qid === 0 ? [q.backupPath] : q.volumes.filter((v) => v.saveOnStop).map((v) => `${dir}${v.name}.img`);
      for (const path of needed) if (!this.files.has(path)) this.failEnded(`${path} of qube ${q.name} is missing`);
    }
  }
}
