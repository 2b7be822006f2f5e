import { TRAILER_SIZE, parseTrailer } from "@qubes-dedup/shim";
import type { TrailerFormat } from "@qubes-dedup/pipeline";

/**
 * The authenticated shim's MAC trailer (format owned by libs/shim), as the
 * pipeline's recogniser: chunks written by the shim end with it, and the
 * pipeline keeps it out of the volumes' inner streams.
 */
export const SHIM_TRAILER: TrailerFormat = {
  length: TRAILER_SIZE,
  matches(tail: Uint8Array): boolean {
    try {
      parseTrailer(tail);
      return true;
    } catch {
      return false;
    }
  },
};
