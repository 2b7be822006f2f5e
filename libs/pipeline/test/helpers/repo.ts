import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { openEngine, type Engine, type EngineKind } from "../../src/index.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

/** A fresh, initialised repository in a temp dir. */
export async function freshRepo(kind: EngineKind = "restic"): Promise<{ engine: Engine; dir: string }> {
  const dir = tmpDir(`repo-${kind}`);
  const passwordFile = path.join(dir, "password");
  fs.writeFileSync(passwordFile, "test-password\n");
  const engine = openEngine({ engine: kind, location: path.join(dir, "repo"), passwordFile });
  await engine.init();
  return { engine, dir };
}

/** A file's bytes as a stream of small pieces (exercises every split point). */
export function fileStream(file: string, highWaterMark = 64 * 1024, limit?: number): Readable {
  return fs.createReadStream(file, { highWaterMark, ...(limit !== undefined ? { end: limit - 1 } : {}) });
}

/** Collects a writable's bytes. */
export class Sink extends (await import("node:stream")).Writable {
  chunks: Buffer[] = [];
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.chunks.push(c);
    cb();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
