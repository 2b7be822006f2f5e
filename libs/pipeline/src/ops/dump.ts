import { createHash } from "node:crypto";
import { once } from "node:events";
import { DumpError, EngineError } from "../errors.ts";
import type { Engine, StdoutDump } from "../engine/types.ts";
import { pairedSideName, sideOf } from "../layout/classify.ts";
import { resolveSnapshot } from "../layout/refs.ts";
import { parseSideRecord, readSideRecord, type Op, type SideMeta } from "../layout/side-record.ts";
import { DATA_FILE, DATA_TAG, SIDE_FILE, STREAM_FILE } from "../layout/tags.ts";

export interface DumpResult { bytes: number; streamSha256: string }

/** A block of zeros, written for the side record's zero runs. */
const ZEROS = Buffer.alloc(65536);

class Gone extends Error {}

/** Error codes of an output whose reader went away: a normal end of a dump. */
const READER_GONE = new Set(["EPIPE", "ERR_STREAM_DESTROYED", "ECONNRESET"]);

/**
 * Writes to the output with back-pressure; throws Gone once the reader left,
 * DumpError when the output itself fails (ENOSPC, EIO, …).
 */
class Out {
  gone = false;
  failure: NodeJS.ErrnoException | undefined;
  /** bytes handed to the output */
  bytes = 0;
  /** bytes the output confirmed */
  written = 0;
  readonly hash = createHash("sha256");
  private readonly onError = (e: NodeJS.ErrnoException) => {
    if (READER_GONE.has(e?.code ?? "")) this.mark();
    else if (!this.gone) ((this.failure ??= e), this.onGone());
  };
  private readonly mark = () => {
    if (this.failure || this.gone) return;
    this.gone = true;
    this.onGone();
  };
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly onGone: () => void,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    out.on("error", this.onError);
    out.on("close", this.mark);
  }
  /** Stops watching the output (the caller may reuse it). */
  release(): void {
    this.out.removeListener("error", this.onError);
    this.out.removeListener("close", this.mark);
  }
  /** The failure of the output as one sentence, if it failed. */
  failed(): DumpError | undefined {
    if (!this.failure) return undefined;
    const code = this.failure.code ?? this.failure.message;
    return new DumpError(`writing the stream failed after ${this.written} bytes (${code}): the output is incomplete; free space on it or write elsewhere, then dump again.`);
  }
  /** Waits until the output confirmed every byte (or failed, or its reader left). */
  async flush(): Promise<void> {
    if (this.written === this.bytes || this.gone || this.failure) return;
    await new Promise<void>((res) => this.out.write(Buffer.alloc(0), () => res()));
    if (this.failure) throw this.failed();
  }
  async write(b: Uint8Array): Promise<void> {
    const w = this.out as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
    if (this.failure) throw this.failed();
    if (this.gone || w.destroyed || w.writableEnded) throw new Gone();
    this.hash.update(b);
    this.bytes += b.length;
    this.onProgress?.(this.bytes);
    const ok = this.out.write(b, (e?: Error | null) => {
      if (!e) this.written += b.length;
    });
    if (!ok) await drainOrGone(this.out);
  }
}

/** Waits until `out` drains, closes or fails, leaving no listener behind. */
async function drainOrGone(out: NodeJS.WritableStream): Promise<void> {
  const ac = new AbortController();
  const wait = (event: string) => once(out as NodeJS.EventEmitter, event, { signal: ac.signal }).catch(() => {});
  await Promise.race([wait("drain"), wait("close"), wait("error")]);
  ac.abort();
}

/** Options of {@link dump}. */
export interface DumpOptions {
  /** SHA-256 (hex) recorded at ingest; a snapshot recording another one is refused before any byte is written */
  expectedSha256?: string;
  /**
   * id of the snapshot holding the side record, as ingest returned it
   * (IngestResult.sideSnapshotId): data and side record are then read at once,
   * without listing the repository's snapshots first. A stale or wrong id
   * costs only time: the side record names its data snapshot, and a record
   * that names another one sends dump back to the listing.
   */
  sideSnapshotId?: string;
  signal?: AbortSignal;
  /** Called after each write with the bytes of the stream handed to the output so far. */
  onProgress?: (bytes: number) => void;
  /** seconds the repository's server may keep failing before the dump fails naming it (engine default 60) */
  backendTimeoutSeconds?: number;
}

/**
 * Writes a snapshot's original backup stream to `output`, starting at once.
 * Canonical snapshots are rebuilt from the data file and the side record and
 * checked against the SHA-256 recorded at ingest; raw (v1) ones are copied.
 * A closed output (EPIPE, destroyed) is a normal end: qvm-backup-restore cuts
 * the pipe once it has what it needs; any other write error (ENOSPC, EIO) is not.
 * @param snapshotId a data snapshot's id, its short id (layout/refs.ts
 *   shortSnapshotId), a unique start of either, or "latest"
 * @returns bytes written and the SHA-256 (hex) of those bytes
 * @throws DumpError on a digest mismatch, an unreadable side record, a failed
 *   output ("writing the stream failed after N bytes (ENOSPC): …"), or an
 *   abort through opts.signal ("the dump was cancelled …"); EngineError
 */
export async function dump(engine: Engine, snapshotId: string, output: NodeJS.WritableStream, opts: DumpOptions = {}): Promise<DumpResult> {
  // every engine process started here has exited when dump returns: one that
  // outlived us would die of SIGPIPE holding its repository lock
  const started: StdoutDump[] = [];
  const open = (id: string, file: string) => {
    if (opts.signal?.aborted) throw cancelled(0);
    const d = engine.dumpFile(id, file, { backendTimeoutSeconds: opts.backendTimeoutSeconds });
    started.push(d);
    return d;
  };
  const stopAll = () => started.forEach((d) => void d.kill());
  opts.signal?.addEventListener("abort", stopAll);
  try {
    const r = await dumpWith(engine, open, snapshotId, output, opts);
    if (opts.signal?.aborted) throw cancelled(r.bytes);
    return r;
  } catch (e) {
    if (opts.signal?.aborted && !(e instanceof Cancelled)) throw cancelled(undefined);
    throw e;
  } finally {
    opts.signal?.removeEventListener("abort", stopAll);
    await Promise.all(started.map((d) => d.kill()));
  }
}

/** A dump stopped through its AbortSignal (a DumpError to callers). */
class Cancelled extends DumpError {}

function cancelled(bytes: number | undefined): Cancelled {
  const what = bytes === undefined ? "" : ` after ${bytes} bytes`;
  return new Cancelled(`the dump was cancelled${what}; the output is incomplete, dump again to get the whole stream.`);
}

type Open = (snapshotId: string, filename: string) => StdoutDump;
type Data = { dump: StdoutDump; data: AsyncIterator<Buffer> };
/** What to read: a canonical snapshot's data (already started) and parsed side record, or a raw snapshot's id. */
type Plan = { canonical: true; data: Data; meta: SideMeta; ops: Op[] } | { canonical: false; id: string };

async function dumpWith(engine: Engine, open: Open, snapshotId: string, output: NodeJS.WritableStream, opts: DumpOptions): Promise<DumpResult> {
  const plan = await locate(engine, open, snapshotId, opts);
  let running: StdoutDump | undefined;
  const out = new Out(output, () => running?.kill(), opts.onProgress);
  // dump() stops the engines; what was written so far is not a failed output
  const onAbort = () => (out.gone = true);
  opts.signal?.addEventListener("abort", onAbort);
  let expected = opts.expectedSha256;
  try {
    if (plan.canonical) {
      running = plan.data.dump;
      if (expected && expected !== plan.meta.streamSha256) throw new DumpError(`snapshot ${snapshotId} records SHA-256 ${plan.meta.streamSha256}, not the expected ${expected}; pick the right snapshot.`);
      expected = plan.meta.streamSha256;
      await rebuild(plan.ops, plan.data.data, out, running.done);
    } else {
      running = open(plan.id, STREAM_FILE);
      for await (const chunk of running.stdout as AsyncIterable<Buffer>) await out.write(chunk);
    }
    await running.done;
    await out.flush();
  } catch (e) {
    running?.kill();
    const failed = out.failed();
    if (failed) throw failed;
    if (e instanceof EngineError && (e.failure === "damaged" || e.failure === "other") && e.detail !== undefined && !out.gone) throw readFailed(engine, snapshotId, out.written, e);
    if (!(e instanceof Gone) && !out.gone) throw e instanceof DumpError || e instanceof EngineError ? e : new DumpError(`reading snapshot ${snapshotId} failed (${(e as Error).message}); check the repository.`);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    out.release();
  }
  const sha = out.hash.digest("hex");
  if (!out.gone && expected && sha !== expected)
    throw new DumpError(`snapshot ${snapshotId} does not match the SHA-256 recorded at backup time (got ${sha}); the repository may be damaged, run a check.`);
  return { bytes: out.bytes, streamSha256: sha };
}

/**
 * Finds the snapshot's parts, starting engine processes as early as it can:
 * every engine start costs a key derivation and an index load (restic ~0.6 s),
 * so the data dump starts before anything is known and waits in its pipe.
 * When the side record can be named without a listing (a hint from the index,
 * or borg's archive names), data and side record are read at the same time.
 */
async function locate(engine: Engine, open: Open, ref: string, opts: DumpOptions): Promise<Plan> {
  // borg takes archive names only as they are: a short id or a prefix needs the listing first
  const direct = ref !== "latest" && (engine.kind === "restic" || pairedSideName(engine, ref) !== undefined);
  const sideRef = direct ? (opts.sideSnapshotId ?? pairedSideName(engine, ref)) : undefined;
  const early = sideRef || (engine.kind === "restic" && ref.length >= 8 && ref !== "latest") ? startData(open, ref) : undefined;
  if (sideRef) {
    const side = await readSide(open, sideRef).catch(() => undefined);
    if (side && sideBelongs(side.meta, ref, opts.expectedSha256)) return { canonical: true, data: early!, ...side };
  }
  if (opts.signal?.aborted) throw cancelled(0);
  const all = await engine.snapshots();
  const snap = resolveSnapshot(all, ref, engine.repo);
  // restic resolves a prefix among all snapshots, borg takes names as they are
  const earlyIsSnap = engine.kind === "restic" ? all.filter((s) => s.id.startsWith(ref)).length === 1 : snap.id === ref;
  const canonical = snap.tags.includes(DATA_TAG);
  if (early && !(canonical && earlyIsSnap)) void early.dump.kill();
  if (!canonical) return { canonical: false, id: snap.id };
  const side = sideOf(all, snap);
  if (!side) throw new DumpError(`the side record of snapshot ${ref} is missing, so the stream cannot be rebuilt; the repository may be damaged, run a check.`);
  const data = early && earlyIsSnap ? early : startData(open, snap.id);
  return { canonical: true, data, ...(await readSide(open, side.id)) };
}

async function readSide(open: Open, sideId: string): Promise<{ meta: SideMeta; ops: Op[] }> {
  return parseSideRecord(await readSideRecord(open(sideId, SIDE_FILE)));
}

/**
 * True when a side record found through a hint is the one of `ref`: it names
 * its data snapshot (restic's short id, borg's archive name); records written
 * before it did are trusted only when their SHA-256 is the expected one.
 */
function sideBelongs(meta: SideMeta, ref: string, expectedSha256: string | undefined): boolean {
  if (meta.dataSnapshotId) return ref.startsWith(meta.dataSnapshotId);
  return expectedSha256 !== undefined && expectedSha256 === meta.streamSha256;
}

/** Starts dumping a snapshot's data file, held back until read. */
function startData(open: Open, id: string): Data {
  const dump = open(id, DATA_FILE);
  return { dump, data: heldBack(dump.stdout as AsyncIterable<Buffer>) };
}

/**
 * Starts reading at once, so that the stream is in reading mode and nothing
 * is discarded as unread output; the pipe then holds the engine back until
 * the first chunk is asked for.
 */
function heldBack(stream: AsyncIterable<Buffer>): AsyncIterator<Buffer> {
  const it = stream[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<Buffer>> | undefined = it.next();
  first.catch(() => {});
  return {
    next() {
      const f = first;
      first = undefined;
      return f ?? it.next();
    },
  };
}

/**
 * The engine could not read the snapshot (damaged pack or segment, I/O):
 * quote it, and say the output is incomplete and which check shows the damage.
 */
function readFailed(engine: Engine, snapshotId: string, written: number, e: EngineError): DumpError {
  const loc = engine.repo.location;
  const check = engine.kind === "restic" ? `restic -r ${loc} check --read-data` : `borg check --verify-data ${loc}`;
  return new DumpError(`${engine.kind} could not read snapshot ${snapshotId} (${e.detail}): the ${written} bytes written so far are an incomplete stream; \`${check}\` shows what is damaged.`);
}

/**
 * Interleaves side-record literals and zero runs with the data file, in order.
 * @param engineDone the data dump's exit: when the data ends early, its failure is the cause
 */
async function rebuild(ops: Op[], it: AsyncIterator<Buffer>, out: Out, engineDone: Promise<void>): Promise<void> {
  let left: Buffer = Buffer.alloc(0);
  for (const op of ops) {
    if (op.kind === "lit") await out.write(op.bytes);
    else if (op.kind === "zero") for (let n = op.n; n > 0; n -= ZEROS.length) await out.write(ZEROS.subarray(0, Math.min(n, ZEROS.length)));
    else {
      let n = op.n;
      while (n > 0) {
        if (left.length === 0) {
          const r = await it.next();
          if (r.done) await engineDone;
          if (r.done) throw new DumpError("the data file of the snapshot is shorter than its side record says; the repository may be damaged, run a check.");
          left = r.value;
        }
        const take = left.subarray(0, Math.min(n, left.length));
        left = left.subarray(take.length);
        n -= take.length;
        await out.write(take);
      }
    }
  }
  if (left.length > 0 || !(await it.next()).done) throw new DumpError("the data file of the snapshot is longer than its side record says; the repository may be damaged, run a check.");
}
