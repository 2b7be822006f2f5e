/**
 * How to recognise the authenticated shim's MAC trailer at the end of a chunk.
 * The format belongs to `libs/shim` (`@qubes-dedup/shim`, `src/trailer.ts`);
 * chunks written by a plain pass-through (or in tests) carry none.
 */
export interface TrailerFormat {
  /** fixed trailer length in bytes */
  length: number;
  /** true when these `length` bytes are a well-formed trailer */
  matches(tail: Uint8Array): boolean;
}

/** No trailer: every chunk byte is inner-stream data. */
export const NO_TRAILER: TrailerFormat = { length: 0, matches: () => false };
