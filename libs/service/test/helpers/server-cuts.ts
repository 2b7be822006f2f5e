// Streams for the server tests (rest-server.test.ts, borg-ssh.test.ts): a
// source that stops the server half-way through, and a sink that hashes.
import crypto from "node:crypto";
import fs from "node:fs";
import { Transform, Writable, type Readable } from "node:stream";

/** `file` (of `bytes` bytes) as a stream that awaits `atHalf` once half of it passed, then goes on. */
export function cutAtHalf(file: string, bytes: number, atHalf: () => Promise<void> | void): Readable {
  let seen = 0;
  let fired = false;
  const gate = new Transform({
    async transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (!fired && seen >= bytes / 2) {
        fired = true;
        await atHalf();
      }
      cb(null, chunk);
    },
  });
  return fs.createReadStream(file, { highWaterMark: 256 << 10 }).pipe(gate);
}

/** A sink that SHA-256-hashes what it gets (hex `digest()`, `bytes()` written); `atFirst` is awaited at its first bytes. */
export function hashingSink(atFirst?: () => Promise<void> | void): Writable & { digest(): string; bytes(): number } {
  const h = crypto.createHash("sha256");
  let n = 0;
  const w = new Writable({
    async write(chunk: Buffer, _enc, cb) {
      if (n === 0 && atFirst) await atFirst();
      n += chunk.length;
      h.update(chunk);
      cb();
    },
  });
  return Object.assign(w, { digest: () => h.digest("hex"), bytes: () => n });
}
