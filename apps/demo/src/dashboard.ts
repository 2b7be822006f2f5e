/**
 * `npm run web:sim` (`qubes-dedup-demo --dashboard`): the dashboard driving
 * the demo's simulated dom0, so "Back up now", restores and drills really
 * run (qvm-backup / qvm-backup-restore of the simulator, through the dom0
 * agent and the shim). Uses the demo's machine in its work directory.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { simulatedDom0Env, writeSimulatedPolicy } from "@qubes-dedup/qubes-sim/testing";
import { run, type builtTools } from "./env.ts";

/** The demo machine's parts in `work` (see main.ts). */
export function demoMachine(work: string) {
  return { dom0: path.join(work, "dom0"), agentRoot: path.join(work, "dom0-fs"), db: path.join(work, "backup-qube", "index.db") };
}

/**
 * Serves the dashboard (tools/web.mjs: builds it when stale) on the demo's
 * index db, with the environment that sends its requests to the simulated
 * dom0 and the project's policy there (backups allowed, restores asked: answer
 * them with `qubes-sim-confirm`). Prints the session token first. Returns
 * the server's exit status.
 */
export async function serveDashboard(root: string, tools: ReturnType<typeof builtTools>, work: string): Promise<number> {
  const m = demoMachine(work);
  writeSimulatedPolicy(m.dom0, "allow");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...simulatedDom0Env({ simRoot: m.dom0, agentRoot: m.agentRoot, agent: tools.agent, shim: tools.shim, binDirs: [tools.simBin, tools.backupQubeBin] }),
    QUBES_DEDUP_DB: m.db,
    QUBES_DEDUP_REAL_SCRYPT: "/usr/bin/scrypt",
  };
  const token = (await run("web-token", tools.cli, ["web-token"], env)).trim();
  const port = env.PORT ?? "3000";
  process.stdout.write(
    [
      `dashboard on the demo in ${work}: http://127.0.0.1:${port}`,
      `session token (paste it into the page): ${token}`,
      `restores wait for dom0's confirmation: answer with  QUBES_SIM_ROOT=${m.dom0} ${path.join(tools.simBin, "qubes-sim-confirm")} --next allow`,
      "",
    ].join("\n"),
  );
  const r = spawnSync(process.execPath, [path.join(root, "tools", "web.mjs")], { env, stdio: "inherit", cwd: root });
  return r.status ?? 1;
}

/** True when `work` holds a finished demo (its index db). */
export function demoExists(work: string): boolean {
  return fs.existsSync(demoMachine(work).db);
}
