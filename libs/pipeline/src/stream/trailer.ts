import { TRAILER_SIZE, parseTrailer } from "@qubes-dedup/protocol/formats";

/**
 * How to recognise a MAC trailer at the end of a chunk. Chunks written by a
 * plain pass-through (or by tests) carry none.
 */
export interface TrailerFormat {
  /** fixed trailer length in bytes */
  length: number;
  /** true when these `length` bytes are a well-formed trailer of a member of `memberSize` bytes */
  matches(tail: Uint8Array, memberSize: number): boolean;
}

/** No trailer: every chunk byte is inner-stream data. */
export const NO_TRAILER: TrailerFormat = { length: 0, matches: () => false };

/**
 * The authenticated shim's trailer (format owned by `@qubes-dedup/protocol/formats`,
 * libs/protocol/src/formats/trailer.ts: 48 bytes, magic, data length, HMAC tag). The
 * backup qube has no key: it only recognises the structure, dom0 verifies.
 */
export const SHIM_TRAILER: TrailerFormat = {
  length: TRAILER_SIZE,
  matches(tail, memberSize) {
    try {
      parseTrailer(tail, memberSize);
      return true;
    } catch {
      return false;
    }
  },
};
