import { once } from "node:events";
import type { Readable } from "node:stream";
import { FilesError } from "./errors.ts";

/** Most stderr kept of a reader (bytes). */
export const MAX_STDERR = 64 << 10;

/**
 * Copies a reader's stdout to `output` (with back-pressure) or collects it,
 * calling `overflow` once when more than `maxBytes` arrive.
 */
export async function drainBounded(stdout: Readable, maxBytes: number, output: NodeJS.WritableStream | undefined, overflow: () => void): Promise<{ stdout: Buffer; bytes: number }> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stdout as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      overflow();
      throw new FilesError(`the sandboxed reader sent more than ${maxBytes} bytes, over the limit, so it was stopped; raise the download limit if this is expected.`, "too-large");
    }
    if (!output) parts.push(chunk);
    else if (!output.write(chunk)) await once(output as NodeJS.EventEmitter, "drain");
  }
  return { stdout: Buffer.concat(parts), bytes };
}

/** Collects at most MAX_STDERR bytes of a stream as UTF-8. */
export async function collectStderr(stderr: Readable): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stderr as AsyncIterable<Buffer>) {
    if (n < MAX_STDERR) parts.push(chunk.subarray(0, MAX_STDERR - n));
    n += chunk.length;
  }
  return Buffer.concat(parts).toString("utf8");
}
