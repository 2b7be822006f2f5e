/**
 * The simulated dom0 confirmation dialog of an `ask` rule, as files under
 * `$QUBES_SIM_ROOT/qrexec/pending/`: the call is announced in `<id>.json`
 * ({service, source, target, time}) and waits for `<id>.answer` holding
 * `allow` or `deny`, written by a test, the dashboard e2e or
 * `qubes-sim-confirm`. No answer in time means deny, as closing the dialog does.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SimError } from "../errors.ts";
import type { QrexecCall } from "./policy.ts";

/** An announced call waiting for its answer. */
export interface PendingCall {
  id: string;
  service: string;
  source: string;
  target: string;
  /** ISO 8601 time of the request. */
  time: string;
}

const ID_RE = /^[0-9a-z][0-9a-z-]{0,63}$/;
const POLL_MS = 50;

/** `$root/qrexec/pending`. */
export function pendingDir(root: string): string {
  return path.join(root, "qrexec", "pending");
}

function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Announces `call` and waits for its answer.
 * @param timeoutSeconds how long to wait before denying.
 * @returns "allow" only for an answer file whose content is `allow`; else "deny".
 */
export async function askConfirmation(root: string, call: QrexecCall, timeoutSeconds: number, signal?: AbortSignal): Promise<"allow" | "deny"> {
  const dir = pendingDir(root);
  fs.mkdirSync(dir, { recursive: true });
  const id = `${Date.now().toString(36)}-${crypto.randomBytes(4).toString("hex")}`;
  const request = path.join(dir, `${id}.json`);
  const answer = path.join(dir, `${id}.answer`);
  const service = call.argument ? `${call.service}+${call.argument}` : call.service;
  writeAtomically(request, `${JSON.stringify({ service, source: call.source, target: call.target, time: new Date().toISOString() })}\n`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  try {
    while (Date.now() < deadline && !signal?.aborted) {
      let text: string | undefined;
      try {
        text = fs.readFileSync(answer, "utf8");
      } catch {
        await sleep(POLL_MS);
        continue;
      }
      return text.trim() === "allow" ? "allow" : "deny";
    }
    return "deny";
  } finally {
    fs.rmSync(request, { force: true });
    fs.rmSync(answer, { force: true });
  }
}

/** The calls waiting for an answer, oldest first. */
export function listPending(root: string): PendingCall[] {
  let names: string[];
  try {
    names = fs.readdirSync(pendingDir(root)).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const out: PendingCall[] = [];
  for (const n of names) {
    try {
      out.push({ id: n.slice(0, -".json".length), ...JSON.parse(fs.readFileSync(path.join(pendingDir(root), n), "utf8")) });
    } catch {
      // Answered and removed meanwhile.
    }
  }
  return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/**
 * Answers the pending call `id`.
 * @throws SimError when `id` is malformed or no such call is waiting.
 */
export function answerPending(root: string, id: string, answer: "allow" | "deny"): void {
  const file = path.join(pendingDir(root), `${id}.json`);
  if (!ID_RE.test(id) || !fs.existsSync(file)) throw new SimError(`No qrexec call "${id}" is waiting for confirmation; list them with qubes-sim-confirm --list.`);
  writeAtomically(path.join(pendingDir(root), `${id}.answer`), `${answer}\n`);
}

/**
 * Waits for the next call to be announced (optionally for `service` only).
 * @throws SimError when none arrives within `timeoutSeconds`.
 */
export async function waitForPending(root: string, opts: { service?: string; timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<PendingCall> {
  const deadline = Date.now() + (opts.timeoutSeconds ?? 60) * 1000;
  while (Date.now() < deadline && !opts.signal?.aborted) {
    const found = listPending(root).find((p) => opts.service === undefined || p.service === opts.service);
    if (found) return found;
    await sleep(POLL_MS);
  }
  throw new SimError(`No qrexec call${opts.service ? ` to ${opts.service}` : ""} asked for confirmation in time; check that the caller runs and the policy says ask.`);
}
