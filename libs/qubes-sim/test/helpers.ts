import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { createSystem, type QubeSpec } from "../src/index.ts";
import { parseHeader, parsePax } from "../src/restore/outer-tar.ts";
import { tmpDir } from "../src/testing/index.ts";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FAKE_SCRYPT_DIR = path.join(HERE, "fixtures", "fake-scrypt");
export const PASS = "correct horse battery staple";

/** PATH with the test scrypt stand-in first; FAKE_SCRYPT_LOG records calls. */
export function fakeEnv(log?: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${FAKE_SCRYPT_DIR}:${process.env.PATH}`, ...(log ? { FAKE_SCRYPT_LOG: log } : {}) };
}

const KiB = 1024;
/**
 * A small system: sizes of tens to hundreds of KiB keep tests fast. Both
 * pool kinds: fedora-41 and personal on a file pool (GNU tar), work on
 * lvm_thin (Qubes' tar writer).
 */
export const SMALL: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: 128 * KiB, rootSize: 1024 * KiB, pool: "file" },
  { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: 512 * KiB, firewall: true },
  { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: 256 * KiB, pool: "file" },
];

export function smallSystem(seed = "test"): string {
  const root = path.join(tmpDir("sys"), "root");
  createSystem(root, { seed, qubes: SMALL });
  return root;
}

/** Allocated bytes of a file (st_blocks * 512). */
export function allocated(p: string): number {
  return fs.statSync(p).blocks * 512;
}

/** A location command that logs "start" per run, then "end <status>" if cat finished. */
export function countingCommand(dir: string, streamFile: string): { location: string; log: string } {
  const log = path.join(dir, "runs.log");
  const script = path.join(dir, "serve-backup");
  fs.writeFileSync(script, `#!/bin/sh\necho start >> "${log}"\ncat "$1"\necho "end $?" >> "${log}"\n`, { mode: 0o755 });
  return { location: `${script} ${streamFile}`, log };
}

export function gnuTarList(file: string): string[] {
  return execFileSync("tar", ["-t", "--ignore-zeros", "-f", file], { encoding: "utf8" }).trim().split("\n");
}

export interface Member {
  offset: number;
  name: string;
  size: number;
  pax: Record<string, string>;
  data: Buffer;
  end: number;
}

/** Walks the outer stream by hand: each member is its own archive padded to 10240. */
export function members(stream: Buffer): Member[] {
  const out: Member[] = [];
  let pos = 0;
  while (pos < stream.length) {
    const start = pos;
    const x = parseHeader(stream.subarray(pos, pos + 512))!;
    expect(x.type).toBe("x");
    const pax = parsePax(stream.subarray(pos + 512, pos + 512 + x.size));
    pos += 512 + Math.ceil(x.size / 512) * 512;
    const h = parseHeader(stream.subarray(pos, pos + 512))!;
    expect(h.type).toBe("0");
    pos += 512;
    const data = stream.subarray(pos, pos + h.size);
    pos += Math.ceil(h.size / 512) * 512;
    // End of archive: at least two zero blocks, then padding to a 10240-byte record.
    const end = Math.ceil((pos + 1024 - start) / 10240) * 10240 + start;
    expect(stream.subarray(pos, end).every((b) => b === 0)).toBe(true);
    out.push({ offset: start, name: pax.path ?? h.name, size: h.size, pax, data, end });
    pos = end;
  }
  return out;
}

export function unwrap(enc: Buffer): Buffer {
  // The test scrypt's format: magic (11) + HMAC (32) + data.
  expect(enc.subarray(0, 11).toString("binary")).toBe("fakescrypt\0");
  return enc.subarray(43);
}
