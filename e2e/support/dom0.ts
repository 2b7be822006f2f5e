import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Ids of calls waiting for a dom0 confirmation under `root` (announced, not yet answered). */
export function pendingCalls(root: string): string[] {
  const dir = path.join(root, "qrexec", "pending");
  if (!fs.existsSync(dir)) return [];
  const names = fs.readdirSync(dir);
  return names.filter((n) => n.endsWith(".json") && !names.includes(n.replace(/\.json$/, ".answer"))).map((n) => n.replace(/\.json$/, ""));
}

/** Answers the one waiting call as the dom0 user would in the confirmation dialog. @throws Error unless exactly one call waits. */
export function answerPending(root: string, decision: "allow" | "deny"): void {
  const ids = pendingCalls(root);
  if (ids.length !== 1) throw new Error(`expected one call waiting for confirmation in ${root}, found ${ids.length}`);
  const file = path.join(root, "qrexec", "pending", `${ids[0]}.answer`);
  fs.writeFileSync(`${file}.tmp`, decision);
  fs.renameSync(`${file}.tmp`, file);
}

/** SHA-256 (hex) of every file of a qube's volumes directory, by file name. */
export function volumeDigests(root: string, qube: string): Record<string, string> {
  const dir = path.join(root, "volumes", qube);
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = createHash("sha256").update(fs.readFileSync(path.join(dir, name))).digest("hex");
  return out;
}
