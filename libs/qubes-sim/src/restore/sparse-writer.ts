/**
 * A Writable that writes a file sparse, like `dd conv=sparse`: 4 KiB blocks
 * that are all zero are skipped (left as holes), and the file is truncated
 * to the full length at the end. Constant memory (one partial block).
 */
import fs from "node:fs";
import { Writable } from "node:stream";

const BLOCK = 4096;
const ZERO = Buffer.alloc(BLOCK);

export class SparseFileWriter extends Writable {
  private fd: number | undefined;
  private pos = 0;
  private partial = Buffer.alloc(0);

  /** @param path the file to create (truncated if it exists). */
  constructor(private readonly path: string) {
    super();
  }

  override _construct(cb: (e?: Error | null) => void): void {
    fs.open(this.path, "w", (e, fd) => {
      this.fd = fd;
      cb(e);
    });
  }

  private put(b: Buffer): void {
    for (let off = 0; off < b.length; off += BLOCK) {
      const end = Math.min(off + BLOCK, b.length);
      const zero = end - off === BLOCK && b.compare(ZERO, 0, BLOCK, off, end) === 0;
      if (!zero) fs.writeSync(this.fd!, b, off, end - off, this.pos + off);
    }
    this.pos += b.length;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      const all = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
      const whole = all.length - (all.length % BLOCK);
      this.put(all.subarray(0, whole));
      this.partial = Buffer.from(all.subarray(whole));
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    try {
      this.put(this.partial);
      fs.ftruncateSync(this.fd!, this.pos);
      fs.closeSync(this.fd!);
      this.fd = undefined;
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.fd !== undefined) fs.close(this.fd, () => cb(err));
    else cb(err);
  }
}
