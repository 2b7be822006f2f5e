/**
 * `n` deterministic pseudo-random bytes (xorshift32 from `seed`): the same
 * seed gives the same bytes on every run, and the bytes do not compress.
 */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
