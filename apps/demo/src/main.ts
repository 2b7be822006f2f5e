/**
 * `npm run demo`: the main job end to end on one machine. A simulated dom0
 * (libs/qubes-sim) backs its qubes up with qvm-backup through the scrypt
 * shim into `qubes-dedup ingest` (a real restic repository, or borg with
 * `--engine borg`; the SQLite
 * index), changes some blocks, backs up again, then restores both snapshots
 * into empty systems through `qubes-dedup dump` and qvm-backup-restore and
 * checks every volume byte for byte. Exit 0 only when every restore is
 * identical. `--json`: the last stdout line is one JSON object.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { createSystem, mutateVolume } from "@qubes-dedup/qubes-sim";
import { builtTools, run, workspaceRoot, StepError } from "./env.ts";
import { compareVolumes, compareWithHashes, hashVolumes } from "./compare.ts";
import { reportLines, summarize, type SnapshotJson } from "./report.ts";
import { demoQubes, MiB } from "./system.ts";
import { demoExists, serveDashboard } from "./dashboard.ts";

const USAGE =
  "usage: qubes-dedup-demo [--json] [--workdir DIR] [--small] [--engine restic|borg] [--installed-cli PATH]\n       qubes-dedup-demo --dashboard [--workdir DIR]   (the dashboard on the demo's simulated dom0; runs the demo first when there is none)\n";

/** A progress line: stdout, or stderr with --json (stdout then carries only the summary). */
function log(json: boolean, line: string) {
  (json ? process.stderr : process.stdout).write(`${line}\n`);
}

/** Restores `snapshot` through the agent into a new, empty simulated system at `target`. */
async function restoreInto(
  tools: ReturnType<typeof builtTools>,
  env: NodeJS.ProcessEnv,
  agentRoot: string,
  snapshot: string,
  target: string,
  older?: string,
): Promise<void> {
  createSystem(target, { qubes: [] });
  // dom0's ledger restores the newest backup unless the user names an older one by its backup-id.
  const pick = older === undefined ? [] : ["--backup-id", older];
  await run(`restore of snapshot ${snapshot}`, process.execPath, [tools.agent, "restore", snapshot, ...pick, "--root", agentRoot, "--dest-vm", "backup"], { ...env, QUBES_SIM_ROOT: target });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      workdir: { type: "string" },
      small: { type: "boolean", default: false },
      engine: { type: "string", default: "restic" },
      // The backup qube's side from an installed package (e.g. /usr/bin/qubes-dedup), not from the checkout.
      "installed-cli": { type: "string" },
      dashboard: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const json = values.json === true;
  const started = Date.now();
  const root = workspaceRoot();
  const installed = values["installed-cli"];
  if (installed !== undefined && !path.isAbsolute(installed)) throw new StepError(`--installed-cli needs an absolute path, not "${installed}"`);
  const engine = values.engine;
  if (engine !== "restic" && engine !== "borg") throw new StepError(`--engine takes restic or borg, not "${engine}"`);
  const tools = builtTools(root, installed);
  const work = path.resolve(values.workdir ?? path.join(root, "var", "demo"));
  if (values.dashboard && demoExists(work)) return serveDashboard(root, tools, work);
  fs.rmSync(work, { recursive: true, force: true });
  const dom0 = path.join(work, "dom0");
  const agentRoot = path.join(work, "dom0-fs");
  const bq = path.join(work, "backup-qube");
  fs.mkdirSync(bq, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QUBES_SIM_ROOT: dom0,
    QUBES_DEDUP_DB: path.join(bq, "index.db"),
    QUBES_DEDUP_REAL_SCRYPT: "/usr/bin/scrypt",
    PATH: [tools.simBin, tools.backupQubeBin, process.env.PATH ?? "/usr/bin:/bin"].join(":"),
  };

  log(json, `qubes-dedup demo in ${work}`);
  createSystem(dom0, { seed: "demo", qubes: demoQubes(values.small === true) });
  log(json, "dom0: created 4 simulated qubes (a template and three AppVMs) and dom0 home");
  await run("secret new", process.execPath, [tools.agent, "secret", "new", "--out", path.join(agentRoot, "etc/qubes-dedup/passphrase")], env);
  await run("shim install", process.execPath, [tools.agent, "shim", "install", "--root", agentRoot], env);
  log(json, "dom0: generated the backup passphrase and installed the scrypt shim (scratch root)");
  const passwordFile = path.join(bq, `${engine}.pass`);
  fs.writeFileSync(passwordFile, `${crypto.randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  await run("repo add", tools.cli, ["repo", "add", "default", "--engine", engine, "--location", path.join(bq, "repo"), "--password-file", passwordFile], env);
  log(json, `backup qube: initialised a ${engine} repository`);

  const backup = (n: number) =>
    run(`backup ${n}`, process.execPath, [tools.agent, "backup", "--root", agentRoot, "--dest-vm", "backup"], env, { relay: !json });
  await backup(1);
  log(json, "\ndom0: backup 1 done");
  const before = await hashVolumes(dom0);
  // Two 1 MiB extents: what a qube writing a couple of files leaves behind.
  // (Scattered 4 KiB writes cost the engine's whole ~1 MiB chunk each.)
  const privateImg = path.join(dom0, "volumes", "work", "private.img");
  const changed = mutateVolume(privateImg, { fraction: (2 * MiB) / fs.statSync(privateImg).size, extent: MiB, seed: "demo-change" });
  log(json, `dom0: rewrote ${changed.extents} extents of 1 MiB in work's private volume`);
  await backup(2);
  log(json, "\ndom0: backup 2 done");

  const snaps = JSON.parse(await run("snapshots", tools.cli, ["snapshots", "--json"], env)) as SnapshotJson[];
  if (snaps.length !== 2) throw new StepError(`expected 2 snapshots, the index lists ${snaps.length}`);
  const [first, second] = snaps as [SnapshotJson, SnapshotJson];

  await restoreInto(tools, env, agentRoot, second.id, path.join(work, "restored-latest"));
  const latest = await compareVolumes(dom0, path.join(work, "restored-latest"));
  await restoreInto(tools, env, agentRoot, first.id, path.join(work, "restored-first"), first.backupId);
  const firstVerdicts = compareWithHashes(before, await hashVolumes(path.join(work, "restored-first")));
  const verdicts = [...latest, ...firstVerdicts];

  const summary = summarize(snaps, verdicts, (Date.now() - started) / 1000);
  for (const line of reportLines(summary, snaps)) log(json, line);
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (values.dashboard) return serveDashboard(root, tools, work);
  return summary.restoredIdentical ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (e) {
  if ((e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`qubes-dedup-demo: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`qubes-dedup-demo: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
