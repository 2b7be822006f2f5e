import fs from "node:fs";
import path from "node:path";
import { answerPending, listPending, pendingDir, type PendingCall } from "../qrexec/ask.ts";

/**
 * Test support: the calls under `root` still waiting for the dom0
 * confirmation dialog (announced and not answered yet), oldest first.
 */
export function unansweredCalls(root: string): PendingCall[] {
  return listPending(root).filter((c) => !fs.existsSync(path.join(pendingDir(root), `${c.id}.answer`)));
}

/**
 * Answers the one waiting call as the dom0 user would in the dialog.
 * @throws Error unless exactly one call waits.
 */
export function answerTheWaitingCall(root: string, decision: "allow" | "deny"): void {
  const calls = unansweredCalls(root);
  if (calls.length !== 1) throw new Error(`expected one call waiting for confirmation in ${root}, found ${calls.length}`);
  answerPending(root, calls[0]!.id, decision);
}
