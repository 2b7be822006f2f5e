/**
 * `policy install|uninstall|status`: the qrexec policy for qubes.DedupBackup
 * and qubes.DedupRestore at /etc/qubes/policy.d/30-qubes-dedup.policy
 * (Qubes 4.1+ policy.d format), rendered for the configured backup qube.
 * The text is apps/dom0-agent/policy/30-qubes-dedup.policy, kept here so the
 * bundled agent needs no other file (a test checks that both are equal).
 */
import fs from "node:fs";
import path from "node:path";
import { POLICY_FILE, loadConfig, underRoot } from "../config.ts";
import { qubeName } from "../validate.ts";

/** The shipped policy, for a backup qube named "backup". */
export const POLICY_TEXT = [
  "# qubes-dedup: who may ask dom0 for a backup or a restore (Qubes 4.1+ policy.d",
  "# format). Installed as /etc/qubes/policy.d/30-qubes-dedup.policy by",
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
  "# Any other qube is refused.",
  "qubes.DedupRestore   *         @anyvm   @adminvm  deny",
  "qubes.DedupBackup    *         @anyvm   @adminvm  deny",
].map((l) => `${l}\n`).join("");

/**
 * The policy for backup qube `destVm`: the shipped text with the source
 * column "backup" replaced. @throws ValidationError for an invalid name.
 */
export function renderPolicy(destVm: string): string {
  const vm = qubeName(destVm, "backup qube");
  return POLICY_TEXT.replace(/^(qubes\.Dedup(?:Backup|Restore) +\* +)backup( +)/gm, (_m, head: string, gap: string) => `${head}${vm}${gap}`);
}

/** `policy install`: writes the policy (0644) under `root`; returns the lines to print. */
export function installPolicy(root: string): string[] {
  const file = underRoot(root, POLICY_FILE);
  const want = renderPolicy(loadConfig(root).destVm);
  let have: string | undefined;
  try {
    have = fs.readFileSync(file, "utf8");
  } catch {
    // Not installed yet.
  }
  if (have === want) return [`nothing to change: ${POLICY_FILE} is up to date`];
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  // Written beside the target and renamed, so qrexec never reads half a policy.
  fs.writeFileSync(`${file}.qubes-dedup-new`, want, { mode: 0o644 });
  fs.chmodSync(`${file}.qubes-dedup-new`, 0o644);
  fs.renameSync(`${file}.qubes-dedup-new`, file);
  return [`${have === undefined ? "wrote" : "updated"} ${POLICY_FILE}`];
}

/** `policy uninstall`: removes the policy under `root`; returns the lines to print. */
export function uninstallPolicy(root: string): string[] {
  try {
    fs.unlinkSync(underRoot(root, POLICY_FILE));
    return [`removed ${POLICY_FILE}`];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [`nothing to remove: ${POLICY_FILE} is not installed`];
    throw e;
  }
}

/** `policy status`: whether the installed policy is the one `install` writes. */
export function policyStatus(root: string): { lines: string[]; ok: boolean } {
  let have: string;
  try {
    have = fs.readFileSync(underRoot(root, POLICY_FILE), "utf8");
  } catch {
    return { lines: [`missing: ${POLICY_FILE}; run \`qubes-dedup-agent policy install\``], ok: false };
  }
  if (have === renderPolicy(loadConfig(root).destVm)) return { lines: [`ok: ${POLICY_FILE}`], ok: true };
  return { lines: [`changed: ${POLICY_FILE} differs from the shipped policy (edited by hand, e.g. backups set to allow); \`qubes-dedup-agent policy install\` restores it`], ok: true };
}
