import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSystem, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { sha256File, tmpDir, type ResticRepo } from "@qubes-dedup/qubes-sim/testing";

/** Workspace root, from this file (apps/cli/test). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = path.join(ROOT, "apps/cli/dist/qubes-dedup.mjs");
/**
 * The node that runs the CLI bundle: `$QUBES_DEDUP_TEST_NODE` (a path, e.g.
 * from tools/node22.sh, to test under another Node than vitest's), else
 * vitest's own. The simulator's commands keep vitest's node.
 */
export const NODE = process.env.QUBES_DEDUP_TEST_NODE || process.execPath;
const SIM_BIN = path.join(ROOT, "libs/qubes-sim/dist/bin");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");

/** Result of one CLI run. */
export interface CliRun {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/** A scratch backup qube: its own index db and a restic password file. */
export interface Scratch {
  dir: string;
  db: string;
  passwordFile: string;
  repo: string;
  env: NodeJS.ProcessEnv;
}

export function scratch(): Scratch {
  const dir = tmpDir("cli");
  const passwordFile = path.join(dir, "restic.pass");
  fs.writeFileSync(passwordFile, "correct horse battery staple\n", { mode: 0o600 });
  const db = path.join(dir, "index.db");
  return { dir, db, passwordFile, repo: path.join(dir, "repo"), env: { ...process.env, QUBES_DEDUP_DB: db } };
}

/**
 * Runs the bundled CLI with `args`, optional stdin bytes or file.
 * Asynchronous: a run blocking vitest's worker (spawnSync) for long on a
 * busy machine times out vitest's RPC ("Timeout calling onTaskUpdate").
 */
export function cli(s: Scratch, args: string[], opts: { input?: Buffer; inputFile?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const input = opts.inputFile ? fs.readFileSync(opts.inputFile) : opts.input;
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], { env: opts.env ?? s.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    // The CLI may exit before reading all of stdin (a refused stream).
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? 128, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
  });
}

const MiB = 1024 * 1024;
const QUBES: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", rootSize: 2 * MiB, privateSize: MiB },
  { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 2 * MiB, firewall: true },
];

/**
 * Makes a real backup stream file with the simulated qvm-backup writing to
 * a directory, through the authenticated shim (so chunks carry MAC
 * trailers), with small chunks (256 KiB) so files span several; `qubes`
 * (default: a template and an AppVM with a firewall, 5 MiB of volumes)
 * sets what it holds.
 * @returns the stream file's path and SHA-256.
 */
export function makeStream(dir: string, seed = "cli-test", qubes: QubeSpec[] = QUBES, select: string[] = []): { file: string; sha256: string } {
  const root = path.join(dir, `dom0-${seed}`);
  // a later call with the same seed backs up the same system again (`select`: only those qubes)
  if (!fs.existsSync(root)) createSystem(root, { seed, qubes });
  const out = fs.mkdtempSync(path.join(dir, `out-${seed}-`));
  const pass = path.join(dir, "passphrase");
  fs.writeFileSync(pass, `qubes-dedup-v1-${crypto.createHash("sha256").update(seed).digest("hex")}\n`, { mode: 0o600 });
  execFileSync(path.join(SIM_BIN, "qvm-backup"), ["--yes", "--no-compress", "--passphrase-file", pass, "--dest-vm", "backup", out, ...select], {
    env: { ...process.env, QUBES_SIM_ROOT: root, QUBES_SIM_CHUNK_SIZE: String(256 * 1024), PATH: `${SHIM_DIR}:${process.env.PATH}` },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const [name] = fs.readdirSync(out);
  const file = path.join(out, name!);
  return { file, sha256: sha256File(file) };
}

/** The scratch's restic repository, for the kit's restic listings. */
export function resticRepo(s: Scratch): ResticRepo {
  return { location: s.repo, passwordFile: s.passwordFile };
}
