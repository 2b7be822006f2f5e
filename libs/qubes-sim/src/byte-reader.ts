

/** Pull-style reader over a Readable that can return less than it got. */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private rest: Buffer | undefined;

  constructor(input: AsyncIterable<unknown>) {
    this.it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Up to `max` bytes, or null at the end of the input. */
  async read(max: number): Promise<Buffer | null> {
    let buf = this.rest;
    this.rest = undefined;
    while (!buf || buf.length === 0) {
      const r = await this.it.next();
      if (r.done) return null;
      buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    }
    if (buf.length > max) {
      this.rest = buf.subarray(max);
      return buf.subarray(0, max);
    }
    return buf;
  }

  /**
   * Exactly `n` bytes; with `partialOk`, fewer at the end of the input.
   * @throws Error("unexpected end of stream") when the input ends early.
   */
  async readExact(n: number, partialOk = false): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const b = await this.read(n - got);
      if (!b) {
        if (partialOk) break;
        throw new Error("unexpected end of stream");
      }
      parts.push(b);
      got += b.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

