import { createHash } from "node:crypto";
import { once } from "node:events";
import { parseSideRecord, readSideRecord, type Op } from "./canonical.ts";
import { DumpError, EngineError } from "./errors.ts";
import type { Engine, StdoutDump } from "./engine/types.ts";
import { DATA_FILE, DATA_TAG, SIDE_FILE, STREAM_FILE } from "./ingest.ts";
import { resolveSnapshot, sideOf } from "./snapshots.ts";

export interface DumpResult { bytes: number; streamSha256: string }

/** Largest side record read into memory (bytes). */
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
  constructor(private readonly out: NodeJS.WritableStream, private readonly onGone: () => void) {
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

/**
 * Writes a snapshot's original backup stream to `output`, starting at once.
 * Canonical snapshots are rebuilt from the data file and the side record and
 * checked against the SHA-256 recorded at ingest; raw (v1) ones are copied.
 * A closed output (EPIPE, destroyed) is a normal end: qvm-backup-restore cuts
 * the pipe once it has what it needs; any other write error (ENOSPC, EIO) is not.
 * @returns bytes written and the SHA-256 (hex) of those bytes
 * @throws DumpError on a digest mismatch, an unreadable side record, or a failed
 *   output ("writing the stream failed after N bytes (ENOSPC): …"); EngineError
 */
export async function dump(engine: Engine, snapshotId: string, output: NodeJS.WritableStream, opts: { expectedSha256?: string; signal?: AbortSignal } = {}): Promise<DumpResult> {
  // every engine process started here has exited when dump returns: one that
  // outlived us would die of SIGPIPE holding its repository lock
  const started: StdoutDump[] = [];
  const open = (id: string, file: string) => {
    const d = engine.dumpFile(id, file);
    started.push(d);
    return d;
  };
  try {
    return await dumpWith(engine, open, snapshotId, output, opts);
  } finally {
    await Promise.all(started.map((d) => d.kill()));
  }
}

type Open = (snapshotId: string, filename: string) => StdoutDump;

async function dumpWith(engine: Engine, open: Open, snapshotId: string, output: NodeJS.WritableStream, opts: { expectedSha256?: string; signal?: AbortSignal }): Promise<DumpResult> {
  // most snapshots are canonical: with restic, their data dump starts before
  // the lookup and waits in its pipe (used only if restic's own reading of the
  // reference is the one resolved here)
  const early = engine.kind === "restic" && snapshotId.length >= 8 && snapshotId !== "latest" ? startData(open, snapshotId) : undefined;
  const all = await engine.snapshots();
  const snap = resolveSnapshot(all, snapshotId, engine.repo.location);
  const canonical = snap.tags.includes(DATA_TAG);
  const earlyUsable = canonical && all.filter((s) => s.id.startsWith(snapshotId)).length === 1;
  if (early && !earlyUsable) early.dump.kill();
  let running: StdoutDump | undefined;
  const out = new Out(output, () => running?.kill());
  const onAbort = () => ((out.gone = true), running?.kill());
  opts.signal?.addEventListener("abort", onAbort);
  let expected = opts.expectedSha256;
  try {
    if (canonical) {
      const side = sideOf(all, snap);
      if (!side) throw new DumpError(`the side record of snapshot ${snapshotId} is missing, so the stream cannot be rebuilt; the repository may be damaged, run a check.`);
      const d = early && earlyUsable ? early : startData(open, snap.id);
      running = d.dump;
      const { meta, ops } = parseSideRecord(await readSideRecord(open(side.id, SIDE_FILE)));
      if (expected && expected !== meta.streamSha256) throw new DumpError(`snapshot ${snapshotId} records SHA-256 ${meta.streamSha256}, not the expected ${expected}; pick the right snapshot.`);
      expected = meta.streamSha256;
      await rebuild(ops, d.data, out, d.dump.done);
    } else {
      running = open(snap.id, STREAM_FILE);
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

/** Starts dumping a snapshot's data file, held back until read. */
function startData(open: Open, id: string): { dump: StdoutDump; data: AsyncIterator<Buffer> } {
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
