/**
 * The simulated `qrexec-client-vm <target> <service>[+arg]` of a qube: the
 * policy (policy.ts) decides, an `ask` waits for a confirmation (ask.ts),
 * and an allowed call to dom0 runs its handler as a separate process (the
 * dom0 agent bundle) with the caller's stdin/stdout connected to it and
 * `QREXEC_REMOTE_DOMAIN` naming the caller. A refused call behaves like real
 * qrexec: `Request refused` on stderr, exit status 126, no handler started.
 * The handler's stderr goes to dom0's log, never to the caller:
 * `$QUBES_SIM_ROOT/qrexec/log/<service>.log`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { SimError } from "../errors.ts";
import { askConfirmation } from "./ask.ts";
import { evaluatePolicy, loadPolicy, PolicyError } from "./policy.ts";

/** Exit status of a refused call (as real qrexec-client-vm). */
export const REFUSED_EXIT = 126;

/** The dom0 services the simulator can run, and the agent command for each. */
export const DOM0_SERVICES: Record<string, string[]> = {
  "qubes.DedupBackup": ["rpc", "backup"],
  "qubes.DedupRestore": ["rpc", "restore"],
};

/** Options of {@link qrexecCall}. */
export interface QrexecCallOptions {
  /** Requested target, e.g. "dom0" (or "@adminvm"). */
  target: string;
  /** `service` or `service+argument`. */
  service: string;
  /** The calling qube (default `$QUBES_SIM_VM_NAME`, else "backup"). */
  source?: string;
  /** The simulated dom0 (policy, confirmations, logs); default `$QUBES_SIM_ROOT`. */
  root: string;
  /** Environment of dom0 given to the handler (default process.env). */
  env?: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  /** Where `Request refused` is written. */
  stderr: Writable;
  /** The agent bundle; default `$QUBES_SIM_AGENT`, else the workspace's apps/dom0-agent/dist. */
  agent?: string;
  /** Seconds an `ask` waits for its answer (default `$QUBES_SIM_ASK_TIMEOUT`, else 120). */
  askTimeoutSeconds?: number;
  /** Aborting closes the channel to the handler, as a vanished caller does. */
  signal?: AbortSignal;
}

const TARGET_RE = /^[A-Za-z0-9_.$@:-]{1,31}$/;
const SERVICE_RE = /^[A-Za-z0-9_.-]+(\+[A-Za-z0-9_.-]*)?$/;

/** The agent bundle to run as dom0's handler. @throws SimError when it is not built. */
export function agentPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QUBES_SIM_AGENT) return path.resolve(env.QUBES_SIM_AGENT);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, "apps", "dom0-agent", "dist", "qubes-dedup-agent.mjs");
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) throw new SimError("The dom0 agent is not built (apps/dom0-agent/dist/qubes-dedup-agent.mjs); run `npx nx build @qubes-dedup/dom0-agent` or set QUBES_SIM_AGENT.");
    dir = up;
  }
}

function refuse(o: QrexecCallOptions, why?: string): number {
  if (why) o.stderr.write(`qrexec-client-vm (simulated): ${why}\n`);
  o.stderr.write("Request refused\n");
  return REFUSED_EXIT;
}

/**
 * Makes one service call. Resolves to the exit status: the handler's, or
 * {@link REFUSED_EXIT} when the policy or the confirmation refused it.
 * @throws SimError for a malformed target/service, a call allowed to a qube
 *   other than dom0 or to a service the simulator does not know, or a missing agent.
 */
export async function qrexecCall(o: QrexecCallOptions): Promise<number> {
  if (!TARGET_RE.test(o.target)) throw new SimError(`Invalid target "${o.target}"; give a qube name of up to 31 characters, e.g. dom0.`);
  if (o.service.length > 63 || !SERVICE_RE.test(o.service)) throw new SimError(`Invalid service "${o.service}"; give service[+argument], at most 63 characters.`);
  const env = o.env ?? process.env;
  const [service = "", argument = ""] = o.service.split("+");
  const source = o.source ?? env.QUBES_SIM_VM_NAME ?? "backup";
  const call = { service, argument, source, target: o.target };
  let rule;
  try {
    rule = evaluatePolicy(loadPolicy(o.root), call);
  } catch (e) {
    if (e instanceof PolicyError) return refuse(o, e.message);
    throw e;
  }
  let action = rule?.action ?? "deny";
  if (action === "ask") action = await askConfirmation(o.root, call, o.askTimeoutSeconds ?? Number(env.QUBES_SIM_ASK_TIMEOUT ?? 120), o.signal);
  if (action !== "allow" || o.signal?.aborted) return refuse(o);
  if (o.target !== "dom0" && o.target !== "@adminvm") throw new SimError(`The simulator only runs services in dom0, not in "${o.target}"; call dom0.`);
  const command = DOM0_SERVICES[service];
  if (!command) throw new SimError(`Service ${service} does not exist in the simulated dom0; known: ${Object.keys(DOM0_SERVICES).join(", ")}.`);
  return runHandler(o, [agentPath(env), ...command], { ...handlerEnv(env), QREXEC_REMOTE_DOMAIN: source, QREXEC_SERVICE_FULL_NAME: o.service, QREXEC_REQUESTED_TARGET: o.target, ...(argument ? { QREXEC_SERVICE_ARGUMENT: argument } : {}) });
}

function handlerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("QREXEC_"))) as NodeJS.ProcessEnv;
}

function runHandler(o: QrexecCallOptions, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const logDir = path.join(o.root, "qrexec", "log");
  fs.mkdirSync(logDir, { recursive: true });
  const log = fs.openSync(path.join(logDir, `${o.service.split("+")[0]}.log`), "a");
  const child = spawn(process.execPath, argv, { env, stdio: ["pipe", "pipe", log] });
  fs.closeSync(log);
  const toHandler = child.stdin!;
  const fromHandler = child.stdout!;
  const onInput = (d: Buffer) => toHandler.write(d);
  const onInputEnd = () => toHandler.end();
  o.stdin.on("data", onInput);
  o.stdin.on("end", onInputEnd);
  toHandler.on("error", () => {});
  fromHandler.on("data", (d: Buffer) => o.stdout.write(d));
  // A vanished caller: qrexec closes both directions; the handler notices on its next write.
  const hangUp = () => {
    toHandler.destroy();
    fromHandler.destroy();
  };
  o.signal?.addEventListener("abort", hangUp, { once: true });
  return new Promise((resolve, reject) => {
    child.on("error", (e) => reject(new SimError(`Cannot start the dom0 handler ${argv[0]} (${e.message}); check QUBES_SIM_AGENT.`)));
    child.on("close", (code, signal) => {
      o.stdin.off("data", onInput);
      o.stdin.off("end", onInputEnd);
      o.signal?.removeEventListener("abort", hangUp);
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
}
