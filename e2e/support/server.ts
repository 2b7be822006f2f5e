import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "@qubes-dedup/qubes-sim";
import { webBuildStale } from "../../tools/web-build.mjs";
import { WEB_DIR } from "./paths.ts";

/** Runs `next build` unless `.next/BUILD_ID` is newer than the app's and the libs' sources (tools/web-build.mjs). */
export function buildIfStale(): void {
  if (!webBuildStale()) return;
  const r = spawnSync("npx", ["next", "build"], {
    cwd: WEB_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`next build failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/** A started dashboard server. */
export interface Server {
  baseURL: string;
  stop(): Promise<void>;
}

/**
 * Starts `next start` through the app's `start` script (127.0.0.1, $PORT),
 * with `env` added, and waits until the tRPC API answers. Logs go to `logFile`.
 */
export async function startServer(env: Record<string, string>, logFile: string): Promise<Server> {
  const port = await freePort();
  const log = fs.openSync(logFile, "a");
  const child = spawn("npm", ["run", "--silent", "start"], {
    cwd: WEB_DIR,
    env: { ...process.env, ...env, PORT: String(port), NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", log, log],
    detached: true,
  });
  const baseURL = `http://127.0.0.1:${port}`;
  const stop = () => stopGroup(child);
  try {
    await waitUntilUp(`${baseURL}/api/trpc/repositories.list`, child, logFile);
  } catch (e) {
    await stop();
    throw e;
  }
  return { baseURL, stop };
}

/** Waits until `url` answers below 500 (up to 30 s); fails early when `child` exits. */
export async function waitUntilUp(url: string, child: ChildProcess, logFile: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the dashboard server exited with ${child.exitCode}; see ${logFile}`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the dashboard server did not answer ${url} within 30 s; see ${logFile}`);
}

/** Ends the server's whole process group (npm, sh, next-server). */
export async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  await exited;
}
