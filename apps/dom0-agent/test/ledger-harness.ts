/**
 * A whole simulated machine for the ledger tests: a dom0 (libs/qubes-sim
 * with a qubesd unit, so qvm-backup runs the installed shim with qubesd's
 * environment, not the agent's), the bundled agent and shim, and a backup
 * qube (`qubes-dedup` CLI, a real restic or borg repository). The backup
 * qube's `qubes-dedup` on PATH is a wrapper that, like a compromised backup
 * qube, can serve a file or another snapshot instead of the one dom0 asked
 * for ($SERVE_FILE, $SERVE_SNAPSHOT), or other ledger material to a rebuild
 * ($SERVE_LEDGER_FILE). dom0 reaches it through the simulated qvm-run.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSystem, writeQubesdUnit, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { qubeVolumeHashes, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { expect } from "vitest";
import { AGENT, PASS } from "./helpers.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKSPACE = path.resolve(HERE, "../../..");
const OUT = path.resolve(HERE, "../dist/ledger-test");
const DOM0_BIN = path.join(OUT, "dom0-bin");
const QUBE_BIN = path.join(OUT, "backup-qube-bin");
const CLI = path.join(OUT, "qubes-dedup.mjs");
const KiB = 1024;

// Test files run two at a time and each builds the chain in its beforeAll:
// every file lands by rename, so a tool the other file is running is never
// seen half-written (a torn lvs read as "lists no volume").
function bundle(entry: string, out: string, external: string[] = []): void {
  const tmp = `${out}.tmp-${process.pid}`;
  execFileSync(process.execPath, [path.join(WORKSPACE, "tools/bundle.mjs"), path.join(WORKSPACE, entry), tmp, ...external.flatMap((e) => ["--external", e])], { stdio: "ignore" });
  fs.renameSync(tmp, out);
}

function writeAtomically(out: string, data: string | Buffer, mode = 0o644): void {
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, out);
}

/** Bundles the simulated dom0 tools and the backup qube's CLI (the agent and shim come from global-setup). */
export function buildChain(): void {
  fs.mkdirSync(DOM0_BIN, { recursive: true });
  fs.mkdirSync(QUBE_BIN, { recursive: true });
  for (const tool of ["qvm-backup", "qvm-backup-restore", "zenity", "qvm-ls", "qvm-remove", "qvm-run", "lvs"]) bundle(`libs/qubes-sim/src/cli/${tool}.ts`, path.join(DOM0_BIN, tool));
  writeAtomically(path.join(DOM0_BIN, "with-tty.py"), fs.readFileSync(path.join(WORKSPACE, "libs/qubes-sim/src/tty/with-tty.py")));
  bundle("apps/cli/src/main.ts", CLI, ["better-sqlite3"]);
  writeAtomically(
    path.join(QUBE_BIN, "qubes-dedup"),
    `#!/bin/sh
# The backup qube's qubes-dedup; $SERVE_FILE / $SERVE_SNAPSHOT make it lie about what it dumps,
# $SERVE_LEDGER_FILE about what it fetches for a ledger rebuild.
if [ "$1" = dump ] && [ -n "$SERVE_FILE" ]; then exec cat "$SERVE_FILE"; fi
if [ "$1" = ledger ] && [ "$2" = fetch ] && [ -n "$SERVE_LEDGER_FILE" ]; then exec cat "$SERVE_LEDGER_FILE"; fi
if [ "$1" = dump ] && [ -n "$SERVE_SNAPSHOT" ]; then
  last=""; for a in "$@"; do last="$a"; done
  set -- $(for a in "$@"; do [ "$a" = "$last" ] && echo "$SERVE_SNAPSHOT" || echo "$a"; done)
fi
exec "${process.execPath}" "${CLI}" "$@"
`,
    0o755,
  );
}

/** The qubes of the machine: vault, the last in the stream, has a firewall and notes. */
export const QUBES: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: 64 * KiB, rootSize: 256 * KiB },
  { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: 384 * KiB, firewall: true },
  { name: "vault", klass: "AppVM", template: "fedora-41", label: "black", privateSize: 256 * KiB, firewall: true, notes: "the vault's notes\n" },
];
export const QUBE_NAMES = QUBES.map((q) => q.name);

/** One machine: dom0 root (also the agent's --root), the backup qube's db and repository. */
export interface Machine {
  work: string;
  dom0: string;
  db: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh machine with the shim installed for qubesd and repository `main` on `engine`. */
export function machine(engine: "restic" | "borg"): Machine {
  const work = tmpDir(`ledger-${engine}`);
  const dom0 = path.join(work, "dom0");
  createSystem(dom0, { seed: "ledger", qubes: QUBES }); // one content for both engines
  writeQubesdUnit(dom0);
  fs.mkdirSync(path.join(dom0, "usr/bin"), { recursive: true });
  fs.symlinkSync("/usr/bin/scrypt", path.join(dom0, "usr/bin/scrypt"));
  fs.mkdirSync(path.join(dom0, "etc/qubes-dedup"), { recursive: true });
  fs.writeFileSync(path.join(dom0, "etc/qubes-dedup/passphrase"), `${PASS}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dom0, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "backup", repo: "main" }));
  const db = path.join(work, "index.db");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QUBES_SIM_ROOT: dom0,
    QUBES_SIM_CHUNK_SIZE: String(64 * KiB),
    QUBES_DEDUP_DB: db,
    QUBES_DEDUP_REAL_SCRYPT: "/usr/bin/scrypt",
    PATH: `${DOM0_BIN}:${QUBE_BIN}:${process.env.PATH}`,
  };
  delete env.QUBES_DEDUP_SHIM;
  execFileSync(process.execPath, [AGENT, "shim", "install", "--root", dom0], { env, stdio: "ignore" });
  // Installed; now qubesd's PATH entry /usr/bin must reach the host's (node, python3, the real scrypt).
  fs.rmSync(path.join(dom0, "usr/bin"), { recursive: true });
  const pass = path.join(work, "repo.pass");
  fs.writeFileSync(pass, "repository password\n", { mode: 0o600 });
  execFileSync(process.execPath, [CLI, "repo", "add", "main", "--engine", engine, "--location", path.join(work, "repo"), "--password-file", pass], { env, stdio: "ignore" });
  return { work, dom0, db, env };
}

/** A fresh, empty dom0 to restore into (a new Qubes install). */
export function freshDom0(m: Machine, name: string): string {
  const root = path.join(m.work, name);
  fs.mkdirSync(root);
  return root;
}

/** How one agent run ended. */
export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the bundled agent without blocking the test worker (a dialog may need answering meanwhile). */
export function runAgent(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  const child = spawn(process.execPath, [AGENT, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin.end(input ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** The machine's snapshots, oldest first, as the backup qube lists them. */
export function snapshots(m: Machine): { shortId: string; backupId: string }[] {
  const out = execFileSync(process.execPath, [CLI, "snapshots", "--repo", "main", "--json"], { env: m.env, encoding: "utf8" });
  return (JSON.parse(out) as { shortId: string; backupId: string }[]).map((s) => ({ shortId: s.shortId, backupId: s.backupId }));
}

/** The original stream of snapshot `ref`, through the real engine's dump. */
export function dumpStream(m: Machine, ref: string): Buffer {
  return execFileSync(process.execPath, [CLI, "dump", "--repo", "main", ref], { env: m.env, maxBuffer: 1 << 28 });
}

/** Runs the backup qube's `qubes-dedup` (the real CLI) with `input` on stdin. */
export function backupQubeCli(m: Machine, args: string[], input?: Buffer, env: NodeJS.ProcessEnv = m.env): Buffer {
  return execFileSync(process.execPath, [CLI, ...args], { env, input, maxBuffer: 1 << 28, stdio: ["pipe", "pipe", "pipe"] });
}

/** One backup the tests made. */
export interface Backup {
  snapshot: string;
  backupId: string;
  /** Volume hashes of every qube at the time of the backup. */
  hashes: Record<string, Record<string, string>>;
}

/** Backs up every qube with the agent CLI: recorded in dom0's ledger, whose new copy is stored in the repository. */
export async function backup(m: Machine): Promise<Backup> {
  const hashes = Object.fromEntries(QUBE_NAMES.map((q) => [q, qubeVolumeHashes(m.dom0, q)]));
  const r = await runAgent(["backup", "--root", m.dom0, ...QUBE_NAMES], m.env);
  expect(r.stderr).toMatch(/qubes-dedup-agent: recorded backup \S+ in dom0's ledger \(fedora-41, work, vault\)\nqubes-dedup-agent: stored dom0's ledger \(\d+ backups, sequence \d+\) in the repository\n$/);
  expect(r.status).toBe(0);
  const backupId = /recorded backup (\S+) in/.exec(r.stderr)![1]!;
  const snap = snapshots(m).find((s) => s.backupId === backupId)!;
  return { snapshot: snap.shortId, backupId, hashes };
}

/** Restores with the agent CLI (dom0 `root`) into the fresh system `target`; `extra` env may make the backup qube lie. */
export async function restoreInto(m: Machine, target: string, args: string[], extra: NodeJS.ProcessEnv = {}, root = m.dom0): Promise<Run> {
  return runAgent(["restore", "--root", root, ...args], { ...m.env, ...extra, QUBES_SIM_ROOT: target });
}

/** Every qube's volumes in `target` are those of backup `b`. */
export function expectIdentical(target: string, b: Backup, qubes = QUBE_NAMES): void {
  for (const q of qubes) expect(qubeVolumeHashes(target, q), q).toEqual(b.hashes[q]);
}
