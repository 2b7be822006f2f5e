import { createHash } from "node:crypto";
import { once } from "node:events";
import { DumpError, EngineError } from "./errors.ts";
import type { Engine } from "./engine/types.ts";
import { STREAM_FILE } from "./ingest.ts";

export interface DumpResult { bytes: number; streamSha256: string }

/** True once the output can take no more bytes (reader gone, destroyed, ended). */
function closed(out: NodeJS.WritableStream): boolean {
  const w = out as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
  return Boolean(w.destroyed || w.writableEnded);
}

/**
 * Writes a snapshot's original backup stream to `output`, streaming at once.
 * A closed output (EPIPE, destroyed) is a normal end: qvm-backup-restore cuts
 * the pipe once it has what it needs.
 * @returns bytes written and the SHA-256 (hex) of those bytes
 * @throws DumpError when the full stream's SHA-256 differs from `expectedSha256`; EngineError
 */
export async function dump(engine: Engine, snapshotId: string, output: NodeJS.WritableStream, opts: { expectedSha256?: string; signal?: AbortSignal } = {}): Promise<DumpResult> {
  const d = engine.dumpFile(snapshotId, STREAM_FILE);
  const hash = createHash("sha256");
  let bytes = 0;
  let gone = false;
  const onGone = () => ((gone = true), d.kill());
  output.on("error", onGone);
  output.on("close", onGone);
  opts.signal?.addEventListener("abort", onGone);
  try {
    for await (const chunk of d.stdout as AsyncIterable<Buffer>) {
      if (gone || closed(output)) return onGone(), { bytes, streamSha256: hash.digest("hex") };
      hash.update(chunk);
      bytes += chunk.length;
      if (!output.write(chunk)) await Promise.race([once(output, "drain"), once(output, "close"), once(output, "error")]).catch(() => {});
    }
  } catch (e) {
    if (!gone) throw e instanceof EngineError ? e : new DumpError(`reading snapshot ${snapshotId} failed (${(e as Error).message}); check the repository.`);
  } finally {
    output.off("error", onGone);
    output.off("close", onGone);
    opts.signal?.removeEventListener("abort", onGone);
  }
  if (gone) return { bytes, streamSha256: hash.digest("hex") };
  await d.done;
  const sha = hash.digest("hex");
  if (opts.expectedSha256 && sha !== opts.expectedSha256)
    throw new DumpError(`snapshot ${snapshotId} does not match the SHA-256 recorded at backup time (got ${sha}); the repository may be damaged, run a check.`);
  return { bytes, streamSha256: sha };
}
