/**
 * The byte formats of the `scrypt` shim, importing only Node's built-ins so
 * that the shim (which may contain nothing else) can bundle them: the MAC
 * trailer of authenticated pass-through (trailer.ts) and the project
 * passphrase and the passphrase lines Qubes hands to scrypt (passphrase.ts).
 * Entry point `@qubes-dedup/protocol/formats`; keep zod and every other
 * package out of this folder.
 */
export {
  TRAILER_MAGIC,
  TRAILER_SIZE,
  TrailerError,
  TrailerVerifier,
  TrailerWriter,
  makeTrailer,
  macKey,
  parseTrailer,
  tagMatches,
  trailerSize,
  type Trailer,
} from "./trailer.ts";
export { HEADER_PASSPHRASE_FIELD, PROJECT_PASSPHRASE_RE, isProjectPassphraseLine, newProjectPassphrase, passphraseLine } from "./passphrase.ts";
