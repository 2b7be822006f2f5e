/**
 * Reads the caller's request from the qrexec stdin: bytes up to and
 * including the first newline, or to end of input, but never more than
 * {@link MAX_REQUEST_BYTES} + 1 bytes (one more than allowed, so that the
 * grammar can tell "too long" apart). Bytes that arrived together with the
 * first line are kept too, so a second line is seen and refused.
 */
import type { Readable } from "node:stream";
import { MAX_REQUEST_BYTES } from "./request.ts";

/**
 * Resolves to the request bytes (possibly empty). Memory is bounded by one
 * read chunk plus {@link MAX_REQUEST_BYTES}.
 */
export function readRequestBytes(input: Readable, limit = MAX_REQUEST_BYTES + 1): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.pause();
      if (err) reject(err);
      else resolve(Buffer.concat(parts).subarray(0, limit));
    };
    const onData = (chunk: Buffer) => {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit || chunk.includes(0x0a)) done();
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(e);
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
  });
}
