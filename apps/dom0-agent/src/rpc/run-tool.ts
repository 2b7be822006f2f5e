/**
 * Runs qvm-backup / qvm-backup-restore for a qrexec caller: the shim first
 * on PATH (as runs.ts does), stdin closed (the request already carried every
 * choice), progress relayed as `progress <percent>` lines on `out`.
 *
 * The caller may go away (the backup qube cancelled): qrexec then closes our
 * stdout, which shows only as a failed write. The last progress line is
 * therefore repeated every {@link HEARTBEAT_SECONDS}, and the first failed
 * write stops the tool (SIGTERM), so no backup keeps running for nobody.
 */
import type { Writable } from "node:stream";
import { execa } from "execa";
import { formatReply } from "@qubes-dedup/protocol";
import { OutputReader } from "./progress.ts";

/** Seconds between repeats of the last progress line. */
export const HEARTBEAT_SECONDS = 2;

/** How a tool run ended. */
export interface ToolRun {
  /** The tool's exit status; 127 when it could not be started. */
  exitCode: number;
  /** True when the caller closed the channel; nothing more should be written. */
  callerGone: boolean;
  /** One sentence for a failed run (the tool's last message). */
  reason: string;
  /** The tool's stdout lines (bounded), for the success summary. */
  stdoutLines: string[];
}

/**
 * Runs `program args` with `shimDir` first on PATH and `env` otherwise.
 * Writes `progress 0.00` once started and each new percentage after that.
 */
export async function runTool(program: string, args: string[], shimDir: string, env: NodeJS.ProcessEnv, out: Writable): Promise<ToolRun> {
  const childEnv: NodeJS.ProcessEnv = { ...env, PATH: `${shimDir}:${env.PATH ?? "/usr/bin:/bin"}` };
  for (const k of Object.keys(childEnv)) if (k.startsWith("QREXEC_")) delete childEnv[k];
  const child = execa(program, args, { env: childEnv, extendEnv: false, stdin: "ignore", stdout: "pipe", stderr: "pipe", reject: false, buffer: false });
  const errText = new OutputReader(20);
  const outText = new OutputReader(1000);
  let callerGone = false;
  let last = formatReply({ kind: "progress", percent: 0 });
  const send = (line: string) => {
    if (callerGone) return;
    last = line;
    out.write(`${line}\n`, (err) => {
      if (err && !callerGone) {
        callerGone = true;
        child.kill("SIGTERM");
      }
    });
  };
  const onOutError = () => {
    if (!callerGone) {
      callerGone = true;
      child.kill("SIGTERM");
    }
  };
  out.on("error", onOutError);
  const relay = (percents: number[]) => {
    for (const p of percents) {
      const line = formatReply({ kind: "progress", percent: p });
      if (line !== last) send(line);
    }
  };
  send(last);
  const heartbeat = setInterval(() => send(last), HEARTBEAT_SECONDS * 1000);
  child.stderr?.setEncoding("utf8").on("data", (d: string) => relay(errText.feed(d)));
  child.stdout?.setEncoding("utf8").on("data", (d: string) => relay(outText.feed(d)));
  const r = await child;
  clearInterval(heartbeat);
  out.off("error", onOutError);
  relay([...errText.end(), ...outText.end()]);
  if (r.exitCode === 0) relay([100]);
  if (r.failed && r.exitCode === undefined && !r.isTerminated) {
    return { exitCode: 127, callerGone, reason: `cannot run ${program} (${r.originalMessage ?? r.shortMessage}); install the Qubes dom0 tools or check PATH.`, stdoutLines: [] };
  }
  const exitCode = r.exitCode ?? 1;
  const tail = errText.lines().at(-1) ?? outText.lines().at(-1);
  const reason = `${program} failed (exit ${r.exitCode ?? r.signal})${tail ? `: ${tail.replace(/^[\w-]+: /, "")}` : ""}`;
  return { exitCode, callerGone, reason, stdoutLines: outText.lines() };
}
