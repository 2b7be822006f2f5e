/**
 * qrexec policy for the simulated dom0, in the Qubes 4.1+ policy.d format
 * (QubesOS/qubes-core-qrexec, /etc/qubes/policy.d/*.policy): one rule per
 * line, `service argument source target action [key=value...]`, `#`
 * comments; files are read in lexical order and the first matching rule
 * decides; no match means deny. Supported tokens: service `*` or a name;
 * argument `*`, `+` (no argument) or `+arg`; source/target a qube name,
 * `@anyvm` (any qube but dom0), `@adminvm` or `dom0` (dom0). Other `@`
 * tokens (tags, types, dispvms) never match here. Parsing is pure.
 */
import fs from "node:fs";
import path from "node:path";
import { SimError } from "../errors.ts";

/** What a rule decides. */
export type PolicyAction = "allow" | "deny" | "ask";

/** One parsed rule, with where it came from (for messages). */
export interface PolicyRule {
  service: string;
  argument: string;
  source: string;
  target: string;
  action: PolicyAction;
  where: string;
}

/** One service call to decide on; `argument` is "" when there is none. */
export interface QrexecCall {
  service: string;
  argument: string;
  source: string;
  target: string;
}

/** Raised for a policy line the simulator cannot read. */
export class PolicyError extends SimError {
  override name = "PolicyError";
}

/**
 * Parses one policy file's text.
 * @param where the file name, used in messages and in each rule's `where`.
 * @throws PolicyError for a line without the five columns, an unknown action, an argument not `*`/`+...`, or `!include`.
 */
export function parsePolicy(text: string, where: string): PolicyRule[] {
  const rules: PolicyRule[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) return;
    const at = `${where}:${i + 1}`;
    if (line.startsWith("!")) throw new PolicyError(`${at}: "${line.split(/\s/)[0]}" is not supported by the simulator; write the rules out.`);
    const [service, argument, source, target, action] = line.split(/\s+/);
    if (!service || !argument || !source || !target || !action) throw new PolicyError(`${at}: a rule needs service, argument, source, target and action; fix the line.`);
    if (action !== "allow" && action !== "deny" && action !== "ask") throw new PolicyError(`${at}: unknown action "${action}"; use allow, deny or ask.`);
    if (argument !== "*" && !argument.startsWith("+")) throw new PolicyError(`${at}: the argument column must be "*" or start with "+"; fix the line.`);
    rules.push({ service, argument, source, target, action, where: at });
  });
  return rules;
}

const isDom0 = (name: string) => name === "dom0" || name === "@adminvm";

function qubeMatches(pattern: string, name: string): boolean {
  if (isDom0(pattern)) return isDom0(name);
  if (pattern === "@anyvm") return !isDom0(name);
  if (pattern.startsWith("@")) return false;
  return pattern === name;
}

function ruleMatches(r: PolicyRule, c: QrexecCall): boolean {
  return (
    (r.service === "*" || r.service === c.service) &&
    (r.argument === "*" || r.argument === `+${c.argument}`) &&
    qubeMatches(r.source, c.source) &&
    qubeMatches(r.target, c.target)
  );
}

/** The first rule matching `call`, or undefined (which means deny). Pure. */
export function evaluatePolicy(rules: PolicyRule[], call: QrexecCall): PolicyRule | undefined {
  return rules.find((r) => ruleMatches(r, call));
}

/** `$root/etc/qubes/policy.d`. */
export function policyDir(root: string): string {
  return path.join(root, "etc", "qubes", "policy.d");
}

/**
 * Reads every `*.policy` file of `policyDir(root)` in lexical order
 * (none, or no directory: no rules, so every call is denied).
 * @throws PolicyError for an unreadable rule.
 */
export function loadPolicy(root: string): PolicyRule[] {
  let files: string[];
  try {
    files = fs.readdirSync(policyDir(root)).filter((f) => f.endsWith(".policy")).sort();
  } catch {
    return [];
  }
  return files.flatMap((f) => parsePolicy(fs.readFileSync(path.join(policyDir(root), f), "utf8"), f));
}
