/**
 * `policy install|uninstall|status`: the qrexec policy for qubes.DedupBackup,
 * qubes.DedupRestore (backup qube → dom0) and qubes-dedup.ReadFilesystem
 * (backup qube → a new disposable qube, libs/files) at
 * /etc/qubes/policy.d/30-qubes-dedup.policy
 * (Qubes 4.1+ policy.d format), rendered for the configured backup qube.
 * The text is apps/dom0-agent/policy/30-qubes-dedup.policy, kept here so the
 * bundled agent needs no other file (a test checks that both are equal).
 */
import fs from "node:fs";
import path from "node:path";
import { POLICY_FILE, loadConfig, underRoot } from "../config.ts";
import { agentCommand } from "../args.ts";
import { qubeName } from "../validate.ts";

/** The shipped policy, for a backup qube named "backup". */
export const POLICY_TEXT = [
  "# qubes-dedup: who may ask dom0 for a backup or a restore, and have files read",
  "# in a disposable qube (Qubes 4.1+ policy.d format). Installed as",
  "# /etc/qubes/policy.d/30-qubes-dedup.policy by",
  "# `qubes-dedup-agent policy install`, with \"backup\" replaced by the backup",
  "# qube configured in /etc/qubes-dedup/agent.json (destVm).",
  "#",
  "# Whatever the action, dom0 builds the command it runs from fixed words and",
  "# checks every name in the request; the backup qube never chooses it.",
  "#",
  "# service            argument  source   target    action",
  "#",
  "# A restore writes qubes into this machine: always confirm it in dom0.",
  "qubes.DedupRestore   *         backup   dom0      ask",
  "#",
  "# Backups ask by default. For unattended (scheduled) backups, replace \"ask\"",
  "# with \"allow\" on the next line; the backup qube can then start a backup of",
  "# the qubes it names at any time, nothing more.",
  "qubes.DedupBackup    *         backup   dom0      ask",
  "#",
  "# Single-file restore: the backup qube sends a qube's volume image to a new",
  "# disposable qube, which parses its untrusted filesystem there and answers",
  "# with listings and file contents only. Nothing reaches dom0. The disposable's",
  "# template needs the qubes-dedup package (its qubes-dedup.ReadFilesystem",
  "# service) and e2fsprogs.",
  "qubes-dedup.ReadFilesystem  *  backup   @dispvm   allow",
  "#",
  "# Any other qube is refused.",
  "qubes.DedupRestore   *         @anyvm   @adminvm  deny",
  "qubes.DedupBackup    *         @anyvm   @adminvm  deny",
  "qubes-dedup.ReadFilesystem  *  @anyvm   @anyvm    deny",
].map((l) => `${l}\n`).join("");

/**
 * The policy for backup qube `destVm`: the shipped text with the source
 * column "backup" replaced. @throws ValidationError for an invalid name.
 */
export function renderPolicy(destVm: string): string {
  const vm = qubeName(destVm, "backup qube");
  return POLICY_TEXT.replace(/^(qubes\.Dedup(?:Backup|Restore) +\* +|qubes-dedup\.ReadFilesystem +\* +)backup( +)/gm, (_m, head: string, gap: string) => `${head}${vm}${gap}`);
}

/** The qrexec service files dom0 runs for each service (/etc/qubes-rpc/<service>). */
export const SERVICE_FILES = { "qubes.DedupBackup": "backup", "qubes.DedupRestore": "restore" } as const;

/** A file that `policy install` (or the dom0 package) puts in place: system path, text, mode. */
export interface PolicyFile {
  path: string;
  content: string;
  mode: number;
}

/** A service file running `node agent rpc <kind>`. @throws Error for paths that cannot be quoted safely. */
function serviceScript(service: string, kind: string, node: string, agent: string): string {
  for (const p of [node, agent]) if (!path.isAbsolute(p) || p.includes("'")) throw new Error(`cannot write a service file for ${p}: install the agent under an absolute path without quotes.`);
  return `#!/bin/sh\n# ${service}: installed by \`qubes-dedup-agent policy install\`.\nexec '${node}' '${agent}' rpc ${kind}\n`;
}

/**
 * The policy for `destVm` (0644) and the two service files (0755) running
 * `node agent rpc <kind>`, both absolute paths. Pure; the dom0 package
 * (tools/package/dom0-files.ts) ships exactly these.
 * @throws ValidationError for an invalid qube name, Error for unquotable paths.
 */
export function policyFiles(destVm: string, node: string, agent: string): PolicyFile[] {
  return [
    { path: POLICY_FILE, content: renderPolicy(destVm), mode: 0o644 },
    ...Object.entries(SERVICE_FILES).map(([service, kind]) => ({ path: `/etc/qubes-rpc/${service}`, content: serviceScript(service, kind, node, agent), mode: 0o755 })),
  ];
}

/** Everything `policy install` writes, for the configured backup qube and this very node. */
function wantedFiles(root: string, agent: string): PolicyFile[] {
  return policyFiles(loadConfig(root).destVm, process.execPath, agent);
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * `policy install`: writes the policy and the service files running `agent`
 * (an absolute path, normally the running bundle) under `root`.
 * @returns the lines to print.
 */
export function installPolicy(root: string, agent: string): string[] {
  const done: string[] = [];
  for (const w of wantedFiles(root, agent)) {
    const file = underRoot(root, w.path);
    const have = readOrUndefined(file);
    if (have === w.content) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    // Written beside the target and renamed, so qrexec never reads half a file.
    fs.writeFileSync(`${file}.qubes-dedup-new`, w.content, { mode: w.mode });
    fs.chmodSync(`${file}.qubes-dedup-new`, w.mode);
    fs.renameSync(`${file}.qubes-dedup-new`, file);
    done.push(`${have === undefined ? "wrote" : "updated"} ${file}`);
  }
  return done.length ? done : ["nothing to change: the qrexec policy and services are up to date"];
}

/** `policy uninstall`: removes the policy and the service files under `root`; returns the lines to print. */
export function uninstallPolicy(root: string): string[] {
  const done: string[] = [];
  for (const p of [POLICY_FILE, ...Object.keys(SERVICE_FILES).map((s) => `/etc/qubes-rpc/${s}`)]) {
    try {
      fs.unlinkSync(underRoot(root, p));
      done.push(`removed ${underRoot(root, p)}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  return done.length ? done : ["nothing to remove: the qrexec policy and services are not installed"];
}

/**
 * `policy status`: one line per file; ok when all are present and the
 * service files current (a policy edited by hand, e.g. backups set to allow, is fine).
 */
export function policyStatus(root: string, agent: string): { lines: string[]; ok: boolean } {
  let ok = true;
  const lines = wantedFiles(root, agent).map((w) => {
    const file = underRoot(root, w.path);
    const have = readOrUndefined(file);
    if (have === undefined) {
      ok = false;
      return `missing: ${file}`;
    }
    if (have === w.content) return `ok: ${file}`;
    if (w.path === POLICY_FILE) return `changed: ${file} (edited by hand; \`policy install\` restores the shipped one)`;
    ok = false;
    return `changed: ${file}`;
  });
  lines.push(ok ? "the qrexec policy and services are installed" : `the qrexec policy or services are not (fully) installed; run \`${agentCommand(root, "policy install")}\``);
  return { lines, ok };
}
