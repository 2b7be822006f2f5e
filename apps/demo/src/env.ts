import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { lineRelay } from "./lines.ts";

/** The workspace root: the demo bundle lives in apps/demo/dist. */
export function workspaceRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "prisma", "schema.prisma"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find the qubes-dedup workspace above the demo: run it with npm run demo");
    dir = up;
  }
  return dir;
}

/**
 * Paths of the built executables the demo drives; checked to exist. With
 * `installedCli` (e.g. /usr/bin/qubes-dedup from the backup-qube package)
 * the backup qube's side is that command, found by qubes.Backup and
 * qubes.Restore on the system PATH, instead of the checkout's build.
 */
export function builtTools(root: string, installedCli?: string) {
  const t = {
    agent: path.join(root, "apps/dom0-agent/dist/qubes-dedup-agent.mjs"),
    simBin: path.join(root, "libs/qubes-sim/dist/bin"),
    /** Directory put on the PATH of the simulated backup qube; the system's own when installed. */
    backupQubeBin: installedCli ? path.dirname(installedCli) : path.join(root, "apps/cli/bin"),
    cli: installedCli ?? path.join(root, "apps/cli/dist/qubes-dedup.mjs"),
    shim: path.join(root, "libs/shim/dist/scrypt"),
  };
  for (const p of [t.agent, path.join(t.simBin, "qvm-backup"), t.cli, t.shim]) {
    if (!fs.existsSync(p)) throw new Error(`${p} is missing: build first with "npm run build" (npm run demo does)`);
  }
  return t;
}

/** A step's command failed; the message carries its stderr tail. */
export class StepError extends Error {}

/**
 * Runs a command with `env`, stdin from `input` (or nothing), stdout
 * captured, stderr captured and optionally relayed live to our stderr.
 * @throws StepError with the last stderr lines when it exits non-zero.
 */
export async function run(
  what: string,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { relay?: boolean; input?: string } = {},
): Promise<string> {
  const child = execa(file, args, { env, reject: false, stdin: opts.input === undefined ? "ignore" : "pipe", input: opts.input, buffer: true, all: false });
  if (opts.relay) {
    const relay = lineRelay((t) => process.stderr.write(t));
    child.stderr?.setEncoding("utf8").on("data", relay);
  }
  const r = await child;
  if (r.exitCode !== 0) {
    const tail = String(r.stderr ?? "").replace(/\r/g, "\n").trim().split("\n").slice(-4).join("\n  ");
    throw new StepError(`${what} failed (exit ${r.exitCode ?? r.signal}):\n  ${tail}`);
  }
  return String(r.stdout ?? "");
}
