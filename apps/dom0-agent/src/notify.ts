/**
 * Desktop notifications in dom0 at the end of every backup and restore the
 * agent runs (`notify-send`, freedesktop.org notifications): failures
 * always, successes when `agent.json` says `"notifySuccess": true`. A
 * missing notify-send or session bus is not an error of the run.
 */
import { execa } from "execa";

/** How a run ended, for its notification. */
export interface RunEnd {
  what: "backup" | "restore" | "verify";
  ok: boolean;
  /** One sentence: the summary or the reason. */
  text: string;
}

/** The notify-send argv for `end`. Pure. */
export function notifyArgs(end: RunEnd): string[] {
  const title = `qubes-dedup: ${end.what} ${end.ok ? "finished" : "failed"}`;
  return ["--app-name=qubes-dedup", `--urgency=${end.ok ? "normal" : "critical"}`, "--", title, end.text];
}

/** Sends the notification for `end` unless it is a success and successes are not wanted. Never throws. */
export async function notifyEnd(end: RunEnd, notifySuccess: boolean, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (end.ok && !notifySuccess) return;
  await execa("notify-send", notifyArgs(end), { env, reject: false, stdin: "ignore", stdout: "ignore", stderr: "ignore", timeout: 10_000 }).catch(() => undefined);
}
