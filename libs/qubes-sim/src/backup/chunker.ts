/**
 * Cuts a byte stream into fixed-size chunks, each handed to a consumer as
 * its own Readable, with back-pressure and constant memory.
 */
import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";
import { SimError } from "../errors.ts";
import { ByteReader } from "../byte-reader.ts";

/**
 * Splits `input` into chunks of `chunkSize` bytes (the last one shorter)
 * and calls `consume(chunk, index)` for each, one at a time. Like Qubes'
 * `handle_streams`, a new chunk is started whenever the previous one
 * reached the limit, so an input whose length is a multiple of chunkSize
 * (including an empty input) ends with an empty chunk.
 * @returns the number of chunks and the total bytes.
 * @throws SimError when a consumer finishes before taking its whole chunk;
 *   rethrows the consumer's and the input's errors.
 */
export async function splitIntoChunks(
  input: Readable,
  chunkSize: number,
  consume: (chunk: Readable, index: number) => Promise<void>,
): Promise<{ chunks: number; bytes: number }> {
  const reader = new ByteReader(input);
  let index = 0;
  let total = 0;
  for (;;) {
    const pt = new PassThrough();
    let finished = false;
    const done = consume(pt, index).finally(() => {
      finished = true;
    });
    let copied = 0;
    let full = false;
    try {
      for (;;) {
        if (copied >= chunkSize) {
          full = true;
          break;
        }
        const buf = await reader.read(chunkSize - copied);
        if (!buf) break;
        copied += buf.length;
        if (!pt.write(buf)) await Promise.race([once(pt, "drain"), done]);
        if (finished) throw new SimError(`The encryption of chunk ${index} stopped before reading all of its data; see the scrypt error above.`);
      }
    } catch (e) {
      pt.destroy();
      await done.catch(() => {});
      throw e;
    }
    pt.end();
    await done;
    total += copied;
    index++;
    if (!full) return { chunks: index, bytes: total };
  }
}
