/**
 * The simulated dom0 dialog of `zenity --question` (what the agent shows
 * before a restore the backup qube asked for), as files under
 * `$QUBES_SIM_ROOT/dialogs/`: `<id>.json` ({title, text, time}) announces
 * it, `<id>.answer` (`yes` or `no`) answers it, written by a test. No answer
 * in time means "no", as closing the dialog does. With
 * `$QUBES_SIM_DIALOG_ANSWER` set to `yes` or `no` (for harnesses that test
 * something else) every question is answered so at once and appended to
 * `dialogs/answered.log`.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** One dialog waiting for its answer. */
export interface PendingDialog {
  id: string;
  title: string;
  /** The text as zenity got it (Pango markup). */
  text: string;
  /** ISO 8601 time it was shown. */
  time: string;
}

/** `$root/dialogs`. */
export function dialogDir(root: string): string {
  return path.join(root, "dialogs");
}

/** Shows a question and waits for its answer; true for `yes`. */
export async function askQuestion(root: string, title: string, text: string, timeoutSeconds: number, auto?: string): Promise<boolean> {
  const dir = dialogDir(root);
  fs.mkdirSync(dir, { recursive: true });
  if (auto === "yes" || auto === "no") {
    fs.appendFileSync(path.join(dir, "answered.log"), `${JSON.stringify({ title, text, answer: auto })}\n`);
    return auto === "yes";
  }
  const id = `${Date.now().toString(36)}-${crypto.randomBytes(4).toString("hex")}`;
  const file = path.join(dir, `${id}.json`);
  const answer = path.join(dir, `${id}.answer`);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify({ title, text, time: new Date().toISOString() })}\n`);
  fs.renameSync(`${file}.tmp`, file);
  const deadline = Date.now() + timeoutSeconds * 1000;
  try {
    while (Date.now() < deadline) {
      if (fs.existsSync(answer)) return fs.readFileSync(answer, "utf8").trim() === "yes";
      await sleep(50);
    }
    return false;
  } finally {
    fs.rmSync(file, { force: true });
    fs.rmSync(answer, { force: true });
  }
}

/** The dialogs shown and not answered yet, oldest first. */
export function pendingDialogs(root: string): PendingDialog[] {
  let names: string[];
  try {
    names = fs.readdirSync(dialogDir(root)).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: PendingDialog[] = [];
  for (const n of names) {
    const id = n.slice(0, -".json".length);
    if (fs.existsSync(path.join(dialogDir(root), `${id}.answer`))) continue;
    try {
      out.push({ id, ...JSON.parse(fs.readFileSync(path.join(dialogDir(root), n), "utf8")) });
    } catch {
      // Answered and removed meanwhile.
    }
  }
  return out.sort((a, b) => a.time.localeCompare(b.time));
}

/** Answers dialog `id`. */
export function answerDialog(root: string, id: string, yes: boolean): void {
  const file = path.join(dialogDir(root), `${id}.answer`);
  fs.writeFileSync(`${file}.tmp`, yes ? "yes\n" : "no\n");
  fs.renameSync(`${file}.tmp`, file);
}
