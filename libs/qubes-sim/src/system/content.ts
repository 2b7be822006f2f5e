/**
 * Deterministic, realistic-looking volume content: random data, holes,
 * runs of zeros and repeated blocks, written as a sparse file.
 */
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";

/** Block size of the content model and of {@link mutateVolume} extents (bytes). */
export const BLOCK = 4096;
/** Granularity at which a volume's layout is decided (bytes). */
const EXTENT = 64 * 1024;

/** A deterministic stream of pseudo-random bytes (AES-128-CTR keystream). */
export class Rng {
  private readonly cipher;
  private state: number;

  /** @param seed any text; equal seeds give equal sequences. */
  constructor(seed: string) {
    const h = createHash("sha256").update(`qubes-sim:${seed}`).digest();
    this.cipher = createCipheriv("aes-128-ctr", h.subarray(0, 16), h.subarray(16, 32));
    this.state = h.readUInt32LE(0) || 1;
  }

  /** `n` pseudo-random bytes. */
  bytes(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }

  /** A number in [0, 1) (xorshift32; cheap, for layout decisions). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x100000000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * Writes a sparse volume image of `size` bytes (a multiple of 4096) at
 * `path`, deterministic from `seed`. Each 64 KiB extent is a hole (~35%),
 * random data (~35%), copies of a few shared 4 KiB blocks (~20%, the kind
 * of repetition deduplication finds) or half data, half zeros (~10%).
 * Memory use is one extent.
 * @throws SimError-free: only fs errors (ENOSPC, EACCES) propagate.
 */
export function writeVolumeImage(path: string, size: number, seed: string): void {
  if (size % BLOCK !== 0) throw new RangeError(`volume size ${size} is not a multiple of ${BLOCK} bytes`);
  const rng = new Rng(seed);
  const shared = Array.from({ length: 8 }, () => rng.bytes(BLOCK));
  const fd = fs.openSync(path, "w");
  try {
    fs.ftruncateSync(fd, size);
    for (let off = 0; off < size; off += EXTENT) {
      const len = Math.min(EXTENT, size - off);
      const kind = rng.next();
      let buf: Buffer | undefined;
      if (kind < 0.35) continue;
      if (kind < 0.7) buf = rng.bytes(len);
      else if (kind < 0.9) {
        buf = Buffer.alloc(len);
        for (let b = 0; b < len; b += BLOCK) shared[rng.int(shared.length)]!.copy(buf, b);
      } else {
        buf = Buffer.alloc(len);
        rng.bytes(len / 2).copy(buf, 0);
      }
      fs.writeSync(fd, buf, 0, len, off);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Options of {@link mutateVolume}. */
export interface MutateOptions {
  /** Share of the volume to rewrite, 0..1 (default 0.05). */
  fraction?: number;
  /** Size of each rewritten extent in bytes, a multiple of 4096 (default 65536). */
  extent?: number;
  /** Seed of the new content and of the positions (default "mutate"). */
  seed?: string;
}

/**
 * "Changes some blocks": rewrites random 4 KiB-aligned extents of an
 * existing image in place with new random data. The file size is unchanged.
 * @returns the number of extents written and the byte offsets, ascending.
 * @throws RangeError on an extent that is not a positive multiple of 4096.
 */
export function mutateVolume(path: string, opts: MutateOptions = {}): { extents: number; offsets: number[] } {
  const extent = opts.extent ?? 64 * 1024;
  if (extent <= 0 || extent % BLOCK !== 0) throw new RangeError(`extent ${extent} is not a positive multiple of ${BLOCK} bytes`);
  const size = fs.statSync(path).size;
  const fraction = Math.min(1, Math.max(0, opts.fraction ?? 0.05));
  const rng = new Rng(`${opts.seed ?? "mutate"}:${path}`);
  const slots = Math.floor(size / BLOCK);
  const count = Math.min(Math.ceil((size * fraction) / extent), Math.max(1, Math.floor(size / extent)));
  const offsets = new Set<number>();
  const fd = fs.openSync(path, "r+");
  try {
    for (let i = 0; i < count && slots > 0; i++) {
      const off = Math.min(rng.int(slots) * BLOCK, Math.max(0, size - extent));
      offsets.add(off);
      const len = Math.min(extent, size - off);
      fs.writeSync(fd, rng.bytes(len), 0, len, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  const sorted = [...offsets].sort((a, b) => a - b);
  return { extents: sorted.length, offsets: sorted };
}
