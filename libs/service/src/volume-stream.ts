/**
 * The one place that reads a volume's bytes out of a snapshot: a dump of
 * that qube alone (pipeline dump, option `qubes`), so that in the per-qube
 * layout (side record format 2) only the qube's data is read from the
 * repository; the volume's inner tar stream is kept as it passes and the
 * dump stopped once that file has passed. A format 1 snapshot is dumped
 * whole, as it was stored.
 */
import { PassThrough, Writable } from "node:stream";
import { BackupStreamParser, dump, SHIM_TRAILER, type Engine, type LayoutSink, type SideRecordCache } from "@qubes-dedup/pipeline";
import { ServiceError } from "./errors.ts";

/** Options of {@link openVolumeStream}. */
export interface VolumeStreamOptions {
  expectedSha256?: string;
  sideSnapshotId?: string;
  /** local copies of side records (service side-cache.ts) */
  sideCache?: SideRecordCache;
  signal?: AbortSignal;
}

/**
 * The inner tar stream (Qubes backup format v4) of `<qube>`'s `<volume>.img`
 * in a snapshot, as it passes: constant memory, back-pressure to the dump.
 * @param snapshot the engine's snapshot id
 * @throws (from the iterator) ServiceError when the qube or the volume is
 *   not in the snapshot or the backup is scrypt-encrypted or compressed;
 *   DumpError, EngineError, IngestError from reading the stream
 */
export async function* openVolumeStream(engine: Engine, snapshot: string, qube: string, volume: string, opts: VolumeStreamOptions = {}): AsyncGenerator<Buffer> {
  const out = new PassThrough({ highWaterMark: 4 << 20 });
  let target: string | undefined;
  let state: "before" | "in" | "after" = "before";
  let parser: BackupStreamParser;
  const take = (b: Uint8Array) => {
    if (state === "in") out.write(Buffer.from(b));
  };
  const sink: LayoutSink = { framing() {}, memberStart() {}, small() {}, payload: take, innerMeta: take, trailer() {}, memberEnd() {} };
  const onFile = (path: string) => {
    if (state === "in") state = "after";
    // qubes.xml comes first; it is parsed when the next file starts
    if (state !== "before" || path === "qubes.xml") return;
    if (parser.header?.compressed) throw encrypted(snapshot);
    const q = parser.qubes?.find((x) => x.name === qube);
    if (!q) throw new ServiceError(`qube ${qube} is not in snapshot ${snapshot}; "qubes-dedup snapshots show ${snapshot}" lists its qubes.`);
    if (!q.volumes.some((v) => v.name === volume && v.saveOnStop)) throw new ServiceError(`qube ${qube} has no backed-up ${volume} volume in snapshot ${snapshot} (an AppVM's root comes from its template); pick private, or the template's root.`);
    const dir = q.backupPath?.endsWith("/") ? q.backupPath : `${q.backupPath}/`;
    target = `${dir}${volume}.img`;
    if (path === target) state = "in";
  };
  parser = new BackupStreamParser(sink, SHIM_TRAILER, onFile);
  const abort = new AbortController();
  opts.signal?.addEventListener("abort", () => abort.abort());
  let failure: unknown;
  const feed = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      try {
        parser.write(chunk);
      } catch (e) {
        failure ??= e;
        return cb(e as Error);
      }
      if (state === "after") return cb(new Error("done"));
      if (out.writableNeedDrain) out.once("drain", () => cb());
      else cb();
    },
  });
  const running = dump(engine, snapshot, feed, { expectedSha256: opts.expectedSha256, sideSnapshotId: opts.sideSnapshotId, sideCache: opts.sideCache, signal: abort.signal, qubes: [qube] })
    .catch((e) => {
      // once the volume has passed, the dump's end (a closed output, the abort) is ours
      if (state !== "after") failure ??= e;
    })
    .finally(() => {
      if (state !== "after" && !failure) {
        if (state === "before") failure = new ServiceError(`qube ${qube} or its ${volume} volume is not in snapshot ${snapshot}; "qubes-dedup snapshots show ${snapshot}" lists its qubes.`);
        else if (parser.files.get(target!)?.scryptEncrypted) failure = encrypted(snapshot);
      }
      out.end();
    });
  // a write callback error is how the feed says "parser failed" or "done": the dump sees a closed output
  feed.on("error", () => {});
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      yield chunk;
    }
    await running;
    if (failure) throw failure;
  } finally {
    abort.abort();
    out.destroy();
    await running;
  }
}

function encrypted(snapshot: string): ServiceError {
  return new ServiceError(`snapshot ${snapshot} was backed up compressed or scrypt-encrypted, so its volumes cannot be read file by file; restore the qube instead.`);
}
