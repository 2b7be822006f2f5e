import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { callScrypt, type ScryptCallResult } from "@qubes-dedup/qubes-sim";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

export const SHIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/scrypt");
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SECRET = `qubes-dedup-v1-${"5a".repeat(32)}`;
export const CHUNK_LINE = `20250102T030405-1234!vm3/private.img.000!${SECRET}`;

/** A scratch directory whose PATH entry holds the shim as `scrypt`. */
export function scratch(): { dir: string; bin: string; env: NodeJS.ProcessEnv } {
  const dir = tmpDir("shim-test");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.symlinkSync(SHIM, path.join(bin, "scrypt"));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TMPDIR: dir };
  delete env.QUBES_DEDUP_REAL_SCRYPT;
  return { dir, bin, env };
}

export interface Run extends ScryptCallResult {
  stdout: Buffer;
}

/** Runs `scrypt <args>` through the pty harness like qubesd; collects stdout. */
export async function run(env: NodeJS.ProcessEnv, args: string[], passphrase: string, stdin?: Buffer | Readable): Promise<Run> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const input = stdin === undefined ? undefined : Buffer.isBuffer(stdin) ? Readable.from([stdin]) : stdin;
  const r = await callScrypt({ args, passphrase, env, stdin: input, stdout: out });
  return { ...r, stdout: Buffer.concat(chunks) };
}

export { bytes } from "@qubes-dedup/qubes-sim/testing";

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
