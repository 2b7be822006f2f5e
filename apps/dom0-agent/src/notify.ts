/**
 * Desktop notifications in dom0 (`notify-send`, freedesktop.org
 * notifications): the end of every backup and restore the agent runs
 * (failures always, successes when `agent.json` says `"notifySuccess": true`)
 * and the dead-man check's warning. A missing notify-send or session bus is
 * not an error of the run.
 *
 * Root without a session bus (the dead-man timer's service, `sudo`, which
 * drops DBUS_SESSION_BUS_ADDRESS) reaches each logged-in user's desktop
 * instead: for every `/run/user/<uid>/bus` (systemd-logind's per-user
 * runtime directory, uid >= 1000), notify-send runs as that user
 * (`setpriv --reuid --regid --clear-groups`, util-linux) with that bus.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { underRoot } from "./config.ts";

/** How a run ended, for its notification. */
export interface RunEnd {
  what: "backup" | "restore" | "verify";
  ok: boolean;
  /** One sentence: the summary or the reason. */
  text: string;
}

/** The notify-send argv for `end`. Pure. */
export function notifyArgs(end: RunEnd): string[] {
  return messageArgs(`qubes-dedup: ${end.what} ${end.ok ? "finished" : "failed"}`, end.text, end.ok ? "normal" : "critical");
}

/** The notify-send argv for a message. Pure. */
export function messageArgs(title: string, text: string, urgency: "normal" | "critical"): string[] {
  return ["--app-name=qubes-dedup", `--urgency=${urgency}`, "--", title, text];
}

/** The session buses of logged-in users under `root`'s /run/user (uid >= 1000), with their owner. */
export function userBuses(root: string): { bus: string; uid: number; gid: number }[] {
  const dir = underRoot(root, "/run/user");
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^\d+$/.test(n) && Number(n) >= 1000);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const bus = path.join(dir, n, "bus");
    try {
      const st = fs.statSync(bus);
      return st.uid === Number(n) ? [{ bus, uid: st.uid, gid: st.gid }] : [];
    } catch {
      return [];
    }
  });
}

/** Runs notify-send with `args`: on the caller's bus, else on each user's (see the file's comment). Never throws. */
export async function sendNotification(args: string[], env: NodeJS.ProcessEnv = process.env, root = "/"): Promise<void> {
  const opts = { reject: false, stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 10_000 } as const;
  const buses = env.DBUS_SESSION_BUS_ADDRESS ? [] : userBuses(root);
  if (buses.length === 0) {
    await execa("notify-send", args, { env, ...opts }).catch(() => undefined);
    return;
  }
  for (const b of buses) {
    const as = ["--reuid", String(b.uid), "--regid", String(b.gid), "--clear-groups", "--", "notify-send", ...args];
    await execa("setpriv", as, { env: { ...env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${b.bus}` }, ...opts }).catch(() => undefined);
  }
}

/** Sends the notification for `end` unless it is a success and successes are not wanted. Never throws. */
export async function notifyEnd(end: RunEnd, notifySuccess: boolean, env: NodeJS.ProcessEnv = process.env, root = "/"): Promise<void> {
  if (end.ok && !notifySuccess) return;
  await sendNotification(notifyArgs(end), env, root);
}
