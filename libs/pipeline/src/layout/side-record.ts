import zlib from "node:zlib";
import { DumpError } from "../errors.ts";
import type { StdoutDump } from "../engine/types.ts";
import type { OuterMember } from "../stream/outer.ts";
import type { LayoutSink } from "../stream/parser.ts";
import { isZeroBlock } from "../stream/tar.ts";

/**
 * Canonical layout: the engine stores only the data of the members of the
 * files' inner streams, back to back ("data"); everything else — outer tar
 * headers, pax records, padding, MAC trailers, header files, chunk
 * boundaries, and the inner streams' own tar headers, pax records (with the
 * writer's PID), sparse maps, padding and end blocks — goes to a small side
 * record stored as its own snapshot with the same run tag. The qubes.xml
 * chunks, rewritten by qubesd on every run, go to the side record too. An
 * inner stream of an unknown format goes to the data as it is.
 * Side record bytes: gzip( "QDSIDE1\n" ‖ u32be metaLen ‖ meta JSON ‖ ops ),
 * op = 1 ‖ u32be n ‖ n literal bytes | 2 ‖ u64be n (n data bytes) | 3 ‖ u64be n (n zero bytes).
 *
 * Format 2 (per-qube layout) keeps these bytes and adds `sections` and
 * `parts` to the meta: the ops fall into sections of whole outer archives —
 * the header files and qubes.xml first, then one per run of a qube's files
 * (the stream is ordered qube by qube: DESIGN.md, backup format v4) — and
 * each section with data has its own data snapshot ("part"), so that one
 * qube's data can be read alone. The data of format 1 is one snapshot.
 */
export interface SideMeta {
  format: 1 | 2;
  backupId: string;
  /** SHA-256 (hex) of the original stream */
  streamSha256: string;
  /** bytes of the original stream */
  logicalBytes: number;
  /** bytes of the data file */
  dataBytes: number;
  /**
   * the data snapshot's id as the engine reported it when the data was stored
   * (restic 0.14: the 8-hex short id; borg: the archive name), so that a side
   * record found by a hint can be matched to its data; absent in older records
   */
  dataSnapshotId?: string;
  /** what the ingest found (absent in side records written before it was kept) */
  summary?: IngestSummary;
  /** format 2: the ops in stream order, cut into sections (their counts add up to the ops') */
  sections?: SideSection[];
  /** format 2: one data snapshot per section with data, in stream order (empty: the run stored no data) */
  parts?: SidePart[];
}

/**
 * A run of whole outer archives of the stream: `dir` is the first path
 * component of their files (`vm3`, `dom0-home`; a qube's backup-path is
 * `vm<qid>/` or `dom0-home/<user>`), null for backup-header, its .hmac and
 * qubes.xml. `ops` ops, of which `dataBytes` bytes are data.
 */
export interface SideSection { dir: string | null; ops: number; dataBytes: number }

/** A data snapshot of a format 2 run: id as the engine reported it, the section it holds, its bytes. */
export interface SidePart { snapshotId: string; section: number; dataBytes: number }

/** The section directory of a stream file path (`vm3/private.img` → `vm3`; `qubes.xml` → null). */
export function sectionDir(file: string | null): string | null {
  if (file === null || file === "qubes.xml") return null;
  return file.split("/")[0]!;
}

/**
 * The ingest's summary, kept in the side record so that an index can be
 * rebuilt from the repository alone (disaster recovery).
 */
export interface IngestSummary {
  backupId: string;
  /** qubes as the backup's qubes.xml lists them, with their files: bytes in the stream and chunk count */
  qubes: { qid: number; name: string; backupPath: string; backupSizeBytes: number; files: { name: string; streamBytes: number; chunks: number }[] }[];
  /** every qube name the backup's qubes.xml lists, in the backup or not; absent in side records written before it was kept */
  listed?: string[];
  compressed: boolean;
  warnings: string[];
  /** seconds the ingest took until the side record was written */
  durationSeconds: number;
  /** ISO 8601 time the ingest started */
  createdAt: string;
  /** bytes of the original stream */
  logicalBytes: number;
  /** SHA-256 (hex) of the original stream */
  streamSha256: string;
}

const MAGIC = Buffer.from("QDSIDE1\n");
const LIT = 1;
const DATA = 2;
const ZERO = 3;

export type Op = { kind: "lit"; bytes: Buffer } | { kind: "data"; n: number } | { kind: "zero"; n: number };

/**
 * Collects the side record while the parser walks the stream; payload goes
 * to `onData` with the index of its section (see {@link SideSection}).
 */
export class SideRecordBuilder implements LayoutSink {
  private ops: Op[] = [];
  dataBytes = 0;
  /** sections so far, with the op index each starts at */
  private secs: { dir: string | null; start: number; dataBytes: number }[] = [{ dir: null, start: 0, dataBytes: 0 }];
  /** true between a member's end and the next archive's first header block */
  private between = true;
  /** op index where the current outer archive starts */
  private archiveStart = 0;
  /** the next op must not merge into the previous one (an archive starts) */
  private barrier = false;

  constructor(private readonly onData: (bytes: Uint8Array, section: number) => void) {}

  /** The sections' directories seen so far. */
  dirs(): (string | null)[] {
    return this.secs.map((s) => s.dir);
  }

  private last(): Op | undefined {
    return this.barrier ? undefined : this.ops[this.ops.length - 1];
  }

  private push(op: Op): void {
    this.ops.push(op);
    this.barrier = false;
  }

  private lit(bytes: Uint8Array): void {
    const last = this.last();
    if (last?.kind === "lit" && last.bytes.length < 65536) last.bytes = Buffer.concat([last.bytes, bytes]);
    else this.push({ kind: "lit", bytes: Buffer.from(bytes) });
  }

  private run(kind: "data" | "zero", n: number): void {
    const last = this.last();
    if (last?.kind === kind) last.n += n;
    else this.push({ kind, n });
  }

  framing(bytes: Uint8Array): void {
    if (isZeroBlock(bytes)) return this.run("zero", bytes.length);
    // the first header block after a member's end opens the next archive: sections split there only
    if (this.between) ((this.between = false), (this.archiveStart = this.ops.length), (this.barrier = true));
    this.lit(bytes);
  }
  /** qubes.xml changes on every run (backup features, timestamps): keep it out of the data */
  private perRun = false;
  memberStart(m: OuterMember): void {
    this.perRun = m.kind.kind === "chunk" && m.kind.file === "qubes.xml";
    const dir = sectionDir(m.kind.kind === "chunk" ? m.kind.file : null);
    if (dir !== this.secs[this.secs.length - 1]!.dir) this.secs.push({ dir, start: this.archiveStart, dataBytes: 0 });
  }
  memberEnd(): void {
    this.between = true;
  }
  small(bytes: Uint8Array): void {
    this.lit(bytes);
  }
  innerMeta(bytes: Uint8Array): void {
    if (isZeroBlock(bytes)) this.run("zero", bytes.length);
    else this.lit(bytes);
  }
  payload(bytes: Uint8Array): void {
    if (this.perRun) return this.lit(bytes);
    this.run("data", bytes.length);
    this.dataBytes += bytes.length;
    this.secs[this.secs.length - 1]!.dataBytes += bytes.length;
    this.onData(bytes, this.secs.length - 1);
  }

  /** The sections for a format 2 record (call once the stream has ended). */
  sections(): SideSection[] {
    return this.secs.map((s, i) => ({ dir: s.dir, ops: (this.secs[i + 1]?.start ?? this.ops.length) - s.start, dataBytes: s.dataBytes }));
  }
  trailer(bytes: Uint8Array): void {
    this.lit(bytes);
  }

  /** Serialises the record (gzip). */
  finish(meta: SideMeta): Buffer {
    const parts: Buffer[] = [MAGIC];
    const metaBuf = Buffer.from(JSON.stringify(meta));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(metaBuf.length);
    parts.push(len, metaBuf);
    for (const op of this.ops) {
      if (op.kind === "lit") {
        const h = Buffer.alloc(5);
        h.writeUInt8(LIT);
        h.writeUInt32BE(op.bytes.length, 1);
        parts.push(h, op.bytes);
      } else {
        const h = Buffer.alloc(9);
        h.writeUInt8(op.kind === "data" ? DATA : ZERO);
        h.writeBigUInt64BE(BigInt(op.n), 1);
        parts.push(h);
      }
    }
    return zlib.gzipSync(Buffer.concat(parts));
  }
}

/**
 * Parses a side record.
 * @throws DumpError when it is not a well-formed side record
 */
export function parseSideRecord(gz: Buffer): { meta: SideMeta; ops: Op[] } {
  const bad = (why: string) => new DumpError(`the side record of this snapshot is unreadable (${why}); the repository may be damaged, run a check.`);
  let b: Buffer;
  try {
    b = zlib.gunzipSync(gz);
  } catch {
    throw bad("not gzip");
  }
  if (!b.subarray(0, 8).equals(MAGIC)) throw bad("wrong magic");
  const metaLen = b.readUInt32BE(8);
  const meta = JSON.parse(b.toString("utf8", 12, 12 + metaLen)) as SideMeta;
  if (meta.format !== 1 && meta.format !== 2) throw bad(`format ${String(meta.format)}`);
  const ops: Op[] = [];
  let pos = 12 + metaLen;
  while (pos < b.length) {
    const t = b.readUInt8(pos);
    if (t === LIT) {
      const n = b.readUInt32BE(pos + 1);
      ops.push({ kind: "lit", bytes: b.subarray(pos + 5, pos + 5 + n) });
      pos += 5 + n;
    } else if (t === DATA || t === ZERO) {
      ops.push({ kind: t === DATA ? "data" : "zero", n: Number(b.readBigUInt64BE(pos + 1)) });
      pos += 9;
    } else throw bad(`unknown op ${t}`);
  }
  if (meta.format === 2 && (meta.sections?.reduce((a, x) => a + x.ops, 0) !== ops.length || !meta.parts)) throw bad("its sections do not cover its ops");
  return { meta, ops };
}

/** Largest side record accepted (bytes); a real one is KiBs per 100 MiB chunk. */
const MAX_SIDE = 256 << 20;

/**
 * Reads a side record from an engine dump into memory, bounded by
 * MAX_SIDE so a damaged repository cannot make it unbounded.
 * @throws DumpError over the bound; the engine's error from `d.done`.
 */
export async function readSideRecord(d: StdoutDump): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of d.stdout as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_SIDE) throw new DumpError(`a side record over ${MAX_SIDE} bytes is refused; the repository may be damaged, run a check.`);
    parts.push(c);
  }
  await d.done;
  return Buffer.concat(parts);
}
