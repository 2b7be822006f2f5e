// Test support: killing real ingest and dump processes at chosen moments,
// and waiting for every engine process they started to be gone (crash tests).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";

/** Starts a TypeScript helper script in a node process of its own (no wrapper: the pid is node's). */
export function startScript(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
}

/** Pids of the processes whose command line mentions `needle` (the repository's location). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(needle)) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Waits until no process mentions `needle` (the engines of a killed run have
 * exited), polling every 100 ms.
 * @throws Error naming the processes still there after `seconds`
 */
export async function waitGone(needle: string, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const left = processesMentioning(needle);
    if (!left.length) return;
    if (Date.now() > until) throw new Error(`processes still running for ${needle}: ${left.join(", ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with the exit and the output once `child` has exited. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * Waits until an engine holds a lock on the local repository at `location`
 * (restic: a lock file, named by its id, in locks/; borg: lock.exclusive): it has opened the
 * repository and reads its stdin from then on.
 */
export async function waitLocked(kind: "restic" | "borg", location: string, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  // a restic lock is written as `<id>-tmp-…` and then renamed to its 64-hex id
  const locked = () => (kind === "restic" ? fs.readdirSync(`${location}/locks`).some((n) => /^[0-9a-f]{64}$/.test(n)) : fs.existsSync(`${location}/lock.exclusive`));
  while (!locked()) {
    if (Date.now() > until) throw new Error(`no engine locked ${location} within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
