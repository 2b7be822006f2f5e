/**
 * Reads the caller's request from the qrexec stdin: bytes up to and
 * including the first newline, or to end of input, but never more than
 * {@link MAX_REQUEST_BYTES} + 1 bytes (one more than allowed, so that the
 * grammar can tell "too long" apart). Bytes that arrived together with the
 * first line are kept too, so a second line is seen and refused.
 */
import type { Readable } from "node:stream";
import { MAX_REQUEST_BYTES, RequestError } from "@qubes-dedup/protocol";

/** Seconds the caller has to send its request line. */
export const REQUEST_TIMEOUT_SECONDS = 30;

/**
 * Resolves to the request bytes (possibly empty). Memory is bounded by one
 * read chunk plus {@link MAX_REQUEST_BYTES}.
 * @throws RequestError when no line arrives within `timeoutSeconds` (a caller
 *   holding the channel open must not keep a dom0 process waiting forever).
 */
export function readRequestBytes(input: Readable, limit = MAX_REQUEST_BYTES + 1, timeoutSeconds = REQUEST_TIMEOUT_SECONDS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => done(new RequestError(`no request line arrived within ${timeoutSeconds} seconds; send one JSON line ending in a newline.`)), timeoutSeconds * 1000);
    const done = (err?: Error) => {
      clearTimeout(timer);
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
