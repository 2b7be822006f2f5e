import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSystem, type QubeSpec } from "../src/index.ts";
import { tmpDir } from "../src/testing/index.ts";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FAKE_SCRYPT_DIR = path.join(HERE, "fixtures", "fake-scrypt");
export const PASS = "correct horse battery staple";

/** PATH with the test scrypt stand-in first; FAKE_SCRYPT_LOG records calls. */
export function fakeEnv(log?: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${FAKE_SCRYPT_DIR}:${process.env.PATH}`, ...(log ? { FAKE_SCRYPT_LOG: log } : {}) };
}

const KiB = 1024;
/** A small system: sizes of tens to hundreds of KiB keep tests fast. */
export const SMALL: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: 128 * KiB, rootSize: 1024 * KiB },
  { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: 512 * KiB, firewall: true },
  { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: 256 * KiB },
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
