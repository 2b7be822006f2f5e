/**
 * Authenticated pass-through (trailer format in @qubes-dedup/protocol/formats): `enc` copies the data
 * and appends the trailer; `dec` verifies the whole input before it writes
 * a single output byte, then copies the data. Constant memory.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TRAILER_SIZE, TrailerError, TrailerWriter, parseTrailer, tagMatches, type Trailer } from "@qubes-dedup/protocol/formats";
import { BLOCK, forEachBlock, readSome, writeAll } from "./io.ts";

/** A failure of the shim that the user can act on; its message is one sentence. */
export class ShimError extends Error {
  override name = "ShimError";
}

/** The 7 bytes every real scrypt file starts with: "scrypt" and version 0. */
export const SCRYPT_MAGIC = Buffer.from("scrypt\0", "latin1");

function openOutput(output: string): { fd: number; created: string | null } {
  if (output === "-") return { fd: 1, created: null };
  return { fd: fs.openSync(output, "w"), created: output };
}

function removeQuietly(file: string | null): void {
  if (file === null) return;
  try {
    fs.unlinkSync(file);
  } catch {
    // Already gone; nothing to clean up.
  }
}

/**
 * `enc` in authenticated mode: input (fd, read to its end) → output path or
 * `-`, data unchanged plus the trailer. A partial output file is removed on
 * failure. `tee`, when given, sees every data block (dom0's ledger spool).
 * @returns the trailer written.
 */
export function encAuthenticated(key: Buffer, inFd: number, output: string, tee?: (block: Buffer) => void): Buffer {
  const out = openOutput(output);
  try {
    const w = new TrailerWriter(key);
    const buf = Buffer.allocUnsafe(BLOCK);
    for (;;) {
      const n = readSome(inFd, buf);
      if (n === 0) break;
      const block = buf.subarray(0, n);
      w.update(block);
      tee?.(block);
      writeAll(out.fd, block);
    }
    const trailer = w.trailer();
    writeAll(out.fd, trailer);
    if (out.created) fs.closeSync(out.fd);
    return trailer;
  } catch (e) {
    if (out.created) {
      fs.closeSync(out.fd);
      removeQuietly(out.created);
    }
    throw e;
  }
}

/** What a `dec` input is, judged from its size, first bytes and last 48 bytes. */
export type DecInputKind = { kind: "authenticated"; trailer: Trailer } | { kind: "scrypt" } | { kind: "unknown" };

/**
 * Classifies a seekable input of `size` bytes. A structurally valid trailer
 * wins over the scrypt magic, because chunk data may itself start with
 * "scrypt\0" (a qube that stores scrypt files); a real scrypt file cannot
 * end with a trailer whose length field matches its size by accident.
 */
export function classifyInput(fd: number, size: number): DecInputKind {
  if (size >= TRAILER_SIZE) {
    const t = Buffer.alloc(TRAILER_SIZE);
    readExactly(fd, t, size - TRAILER_SIZE);
    try {
      return { kind: "authenticated", trailer: parseTrailer(t, size) };
    } catch (e) {
      if (!(e instanceof TrailerError)) throw e;
    }
  }
  const head = Buffer.alloc(SCRYPT_MAGIC.length);
  if (size >= head.length) {
    readExactly(fd, head, 0);
    if (head.equals(SCRYPT_MAGIC)) return { kind: "scrypt" };
  }
  return { kind: "unknown" };
}

function readExactly(fd: number, buf: Buffer, position: number): void {
  let got = 0;
  while (got < buf.length) {
    const n = readSome(fd, buf.subarray(got), position + got);
    if (n === 0) throw new ShimError("the input file shrank while it was being read; make sure nothing else writes to it.");
    got += n;
  }
}

/**
 * `dec` in authenticated mode on a seekable input: pass 1 verifies the tag,
 * pass 2 writes the data and checks the tag again (so a file changed between
 * the passes cannot slip through; a partial output file is then removed).
 * @throws ShimError when the tag does not verify; no output is created then.
 */
export function decAuthenticated(key: Buffer, fd: number, trailer: Trailer, output: string, label: string): void {
  const verify = new TrailerWriter(key);
  forEachBlock(fd, trailer.dataLength, (b) => verify.update(b));
  if (!tagMatches(verify, trailer.tag)) {
    throw new ShimError(`${label} failed authentication (wrong passphrase, altered data, or a chunk from another file or backup); nothing was written, restore from an intact copy of the backup.`);
  }
  const out = openOutput(output);
  try {
    const again = new TrailerWriter(key);
    forEachBlock(fd, trailer.dataLength, (b) => {
      again.update(b);
      writeAll(out.fd, b);
    });
    if (!tagMatches(again, trailer.tag)) {
      throw new ShimError(`${label} changed while it was being decrypted; the output was removed, make sure nothing else writes to the input.`);
    }
    if (out.created) fs.closeSync(out.fd);
  } catch (e) {
    if (out.created) {
      fs.closeSync(out.fd);
      removeQuietly(out.created);
    }
    throw e;
  }
}

/**
 * Copies all of stdin into a private temporary file (0600, in a 0700
 * directory under $TMPDIR) that is unlinked at once, so it disappears with
 * the process whatever happens. Writes are positional, so the descriptor's
 * offset stays 0 and it can be handed to the real scrypt as its stdin.
 * @returns the descriptor and the size in bytes.
 */
export function spoolStdin(): { fd: number; size: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qubes-dedup-shim-"));
  const file = path.join(dir, "input");
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  fs.unlinkSync(file);
  fs.rmdirSync(dir);
  const buf = Buffer.allocUnsafe(BLOCK);
  let size = 0;
  for (;;) {
    const n = readSome(0, buf);
    if (n === 0) break;
    writeAll(fd, buf.subarray(0, n), size);
    size += n;
  }
  return { fd, size };
}
