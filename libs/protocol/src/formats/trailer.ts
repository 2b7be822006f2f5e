/**
 * The authenticated pass-through format of the qubes-dedup scrypt shim
 * (libs/shim writes and checks it, the pipeline strips it, dom0 verifies it).
 *
 * In authenticated mode `scrypt enc` writes the input bytes unchanged,
 * followed by one fixed-size trailer of {@link TRAILER_SIZE} (48) bytes:
 *
 * | offset | size | field                                                     |
 * |-------:|-----:|-----------------------------------------------------------|
 * |      0 |    8 | magic `71 64 64 6d 61 63 00 01` ("qddmac", 0x00, version 1) |
 * |      8 |    8 | data length in bytes, unsigned 64-bit big-endian         |
 * |     16 |   32 | tag = HMAC-SHA-256(K, data ‖ magic ‖ length)             |
 *
 * K = {@link macKey}(line) = HMAC-SHA-256(key = ASCII "qubes-dedup-v1 shim mac key",
 * message = the whole passphrase line as scrypt receives it). Qubes passes
 * `backup-header!<pass>` for the header and `<backup-id>!<path>!<pass>` for
 * every chunk (backup format v4, qubes/backup.py), so the key, and thus the
 * tag, binds the secret, the backup id and the file path: a chunk moved to
 * another path or another backup does not verify. The tag covers the magic
 * and the length so that a truncated or extended file cannot verify either.
 *
 * The format is deterministic: the same data and passphrase line always give
 * the same bytes. The backup qube (which has no key) strips trailers with
 * {@link parseTrailer}; dom0 verifies them with {@link TrailerVerifier}.
 */
import { createHmac, timingSafeEqual, type Hmac } from "node:crypto";

/** The 8 magic bytes that start every trailer. */
export const TRAILER_MAGIC: Buffer = Buffer.from([0x71, 0x64, 0x64, 0x6d, 0x61, 0x63, 0x00, 0x01]);
/** Size of a trailer in bytes (magic 8 + length 8 + HMAC-SHA-256 tag 32). */
export const TRAILER_SIZE = 48;
const TAG_SIZE = 32;
const KEY_LABEL = "qubes-dedup-v1 shim mac key";

/** The fixed trailer size in bytes (48), independent of the data. */
export function trailerSize(): number {
  return TRAILER_SIZE;
}

/** Raised when a trailer is missing, malformed or does not verify. */
export class TrailerError extends Error {
  override name = "TrailerError";
}

/** The fields of a structurally valid trailer. */
export interface Trailer {
  /** Length of the data that precedes the trailer, in bytes. */
  dataLength: number;
  /** The 32-byte HMAC-SHA-256 tag. */
  tag: Buffer;
}

/**
 * Derives the 32-byte MAC key from the whole passphrase line (a string is
 * taken as UTF-8, which is how qubesd encodes it). Pure.
 */
export function macKey(passphraseLine: string | Uint8Array): Buffer {
  return createHmac("sha256", KEY_LABEL).update(passphraseLine).digest();
}

function lengthField(dataLength: number): Buffer {
  if (!Number.isSafeInteger(dataLength) || dataLength < 0) {
    throw new RangeError(`data length ${dataLength} is not a byte count`);
  }
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(dataLength));
  return b;
}

/**
 * Incremental tag computation: feed the data with `update`, then `trailer()`
 * returns the 48-byte trailer for exactly the bytes fed.
 */
export class TrailerWriter {
  private readonly hmac: Hmac;
  private length = 0;

  /** @param key the 32-byte key from {@link macKey}. */
  constructor(key: Uint8Array) {
    this.hmac = createHmac("sha256", key);
  }

  /** Adds data bytes; returns `this`. */
  update(data: Uint8Array): this {
    this.hmac.update(data);
    this.length += data.length;
    return this;
  }

  /** Bytes fed so far. */
  get dataLength(): number {
    return this.length;
  }

  /** Finishes: the trailer (magic ‖ length ‖ tag). Call once. */
  trailer(): Buffer {
    const len = lengthField(this.length);
    const tag = this.hmac.update(TRAILER_MAGIC).update(len).digest();
    return Buffer.concat([TRAILER_MAGIC, len, tag]);
  }
}

/** The trailer for `data` under `key` (for small inputs and tests). Pure. */
export function makeTrailer(key: Uint8Array, data: Uint8Array): Buffer {
  return new TrailerWriter(key).update(data).trailer();
}

/**
 * Parses the last 48 bytes of an authenticated file without any key (this is
 * what the backup qube uses to strip trailers). `fileSize`, when given, is the
 * size of the whole file and must equal dataLength + 48.
 * @throws TrailerError on a wrong size, a wrong magic or a length mismatch.
 */
export function parseTrailer(bytes: Uint8Array, fileSize?: number): Trailer {
  if (bytes.length !== TRAILER_SIZE) {
    throw new TrailerError(`a qubes-dedup trailer is ${TRAILER_SIZE} bytes, got ${bytes.length}; pass exactly the last ${TRAILER_SIZE} bytes of the file.`);
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!b.subarray(0, 8).equals(TRAILER_MAGIC)) {
    throw new TrailerError("the data does not end with a qubes-dedup trailer (wrong magic); it was not written by the qubes-dedup shim or it is truncated.");
  }
  const big = b.readBigUInt64BE(8);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TrailerError("the qubes-dedup trailer names an impossible data length; the file is damaged.");
  }
  const dataLength = Number(big);
  if (fileSize !== undefined && dataLength + TRAILER_SIZE !== fileSize) {
    throw new TrailerError(`the qubes-dedup trailer names ${dataLength} data bytes but the file holds ${fileSize - TRAILER_SIZE}; the file is truncated or extended.`);
  }
  return { dataLength, tag: Buffer.from(b.subarray(16, 16 + TAG_SIZE)) };
}

/**
 * Streaming verifier for data ‖ trailer. `update` returns the bytes that are
 * certainly data (everything except the last 48 bytes seen so far, which may
 * be the trailer); `final` checks the held-back trailer. Memory is constant.
 * Callers that must not release unverified bytes (the shim's `dec`) verify
 * in a first pass and copy in a second.
 */
export class TrailerVerifier {
  private readonly writer: TrailerWriter;
  private tail: Buffer = Buffer.alloc(0);

  /** @param key the 32-byte key from {@link macKey}. */
  constructor(key: Uint8Array) {
    this.writer = new TrailerWriter(key);
  }

  /** Feeds bytes of data ‖ trailer; returns the bytes now known to be data. */
  update(chunk: Uint8Array): Buffer {
    const all = this.tail.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.concat([this.tail, chunk]);
    const cut = Math.max(0, all.length - TRAILER_SIZE);
    const data = all.subarray(0, cut);
    this.tail = Buffer.from(all.subarray(cut));
    this.writer.update(data);
    return data;
  }

  /**
   * Verifies the trailer against everything fed.
   * @returns the data length in bytes.
   * @throws TrailerError when the input is too short, malformed or the tag differs.
   */
  final(): number {
    const t = parseTrailer(this.tail);
    if (t.dataLength !== this.writer.dataLength) {
      throw new TrailerError(`the qubes-dedup trailer names ${t.dataLength} data bytes but ${this.writer.dataLength} were read; the file is truncated or extended.`);
    }
    const expected = this.writer.trailer().subarray(16);
    if (!timingSafeEqual(expected, t.tag)) {
      throw new TrailerError("the qubes-dedup trailer does not verify: wrong passphrase, altered data, or a chunk from another file or backup.");
    }
    return t.dataLength;
  }
}

/** True when `tag` is the right tag for `dataLength` bytes already fed to `writer`. */
export function tagMatches(writer: TrailerWriter, tag: Uint8Array): boolean {
  const expected = writer.trailer().subarray(16);
  return expected.length === tag.length && timingSafeEqual(expected, tag);
}
