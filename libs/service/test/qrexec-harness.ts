/**
 * A whole simulated machine for the qrexec tests: dom0 (libs/qubes-sim with
 * its qrexec-client-vm, qvm-backup, qvm-backup-restore), the dom0 agent and
 * the shim, and the backup qube (`qubes-dedup` CLI, a real restic
 * repository, the index db). Every executable is bundled into this
 * project's dist/qrexec-test, so other projects' dist directories are not touched.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSystem, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { tmpDir, type ResticRepo } from "@qubes-dedup/qubes-sim/testing";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WORKSPACE = path.resolve(HERE, "../../..");
const OUT = path.resolve(HERE, "../dist/qrexec-test");
export const PASS = `qubes-dedup-v1-${"5e".repeat(32)}`;

export const BUILT = {
  dom0Bin: path.join(OUT, "dom0-bin"),
  backupQubeBin: path.join(OUT, "backup-qube-bin"),
  agent: path.join(OUT, "qubes-dedup-agent.mjs"),
  shim: path.join(OUT, "shim", "scrypt"),
  client: path.join(OUT, "dom0-bin", "qrexec-client-vm"),
};

function bundle(entry: string, out: string, flags: string[] = []): void {
  execFileSync(process.execPath, [path.join(WORKSPACE, "tools/bundle.mjs"), path.join(WORKSPACE, entry), out, ...flags], { stdio: "ignore" });
}

/** Bundles every executable the chain needs (a few seconds). */
export function buildAll(): void {
  fs.mkdirSync(BUILT.dom0Bin, { recursive: true });
  fs.mkdirSync(BUILT.backupQubeBin, { recursive: true });
  fs.mkdirSync(path.dirname(BUILT.shim), { recursive: true });
  bundle("libs/shim/src/main.ts", BUILT.shim);
  bundle("apps/dom0-agent/src/cli.ts", BUILT.agent);
  bundle("libs/qubes-sim/src/cli/qvm-backup.ts", path.join(BUILT.dom0Bin, "qvm-backup"));
  bundle("libs/qubes-sim/src/cli/qvm-backup-restore.ts", path.join(BUILT.dom0Bin, "qvm-backup-restore"));
  bundle("libs/qubes-sim/src/qrexec/cli-client.ts", BUILT.client);
  // dom0's restore dialog, the qube listing / removal the agent's ledger checks use, and qvm-run, which stores its ledger copy.
  for (const tool of ["zenity", "qvm-ls", "qvm-remove", "qvm-run"]) bundle(`libs/qubes-sim/src/cli/${tool}.ts`, path.join(BUILT.dom0Bin, tool));
  fs.copyFileSync(path.join(WORKSPACE, "libs/qubes-sim/src/tty/with-tty.py"), path.join(BUILT.dom0Bin, "with-tty.py"));
  const cli = path.join(OUT, "qubes-dedup.mjs");
  bundle("apps/cli/src/main.ts", cli, ["--runtime-externals"]);
  fs.writeFileSync(path.join(BUILT.backupQubeBin, "qubes-dedup"), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 });
}

const KiB = 1024;
export const QUBES: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: 64 * KiB, rootSize: 512 * KiB },
  { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: 384 * KiB, firewall: true },
  { name: "vault", klass: "AppVM", template: "fedora-41", label: "black", privateSize: 128 * KiB },
];

/** Writes the shipped policy into a simulated dom0, with backups set to `backup`. */
export function installPolicy(dom0Root: string, backup: "ask" | "allow" | "deny"): void {
  execFileSync(process.execPath, [BUILT.agent, "policy", "install", "--root", dom0Root], { stdio: "ignore" });
  const file = path.join(dom0Root, "etc/qubes/policy.d/30-qubes-dedup.policy");
  const text = fs.readFileSync(file, "utf8").replace(/^(qubes\.DedupBackup +\* +backup +dom0 +)ask$/m, `$1${backup}`);
  fs.writeFileSync(file, text);
}

/** A simulated dom0 with three small qubes, and the agent's scratch root (passphrase, agent.json). */
export function machine(): { work: string; dom0: string; agentRoot: string; restic: string; resticPass: string; db: string } {
  const work = tmpDir("qrexec-machine");
  const dom0 = path.join(work, "dom0");
  createSystem(dom0, { seed: "qrexec", qubes: QUBES });
  const agentRoot = path.join(work, "dom0-fs");
  fs.mkdirSync(path.join(agentRoot, "etc/qubes-dedup"), { recursive: true });
  fs.writeFileSync(path.join(agentRoot, "etc/qubes-dedup/passphrase"), `${PASS}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(agentRoot, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "backup" }));
  const resticPass = path.join(work, "restic.pass");
  fs.writeFileSync(resticPass, "restic-test-password\n", { mode: 0o600 });
  return { work, dom0, agentRoot, restic: path.join(work, "repo"), resticPass, db: path.join(work, "index.db") };
}

/** The environment of the whole simulated machine (dom0 and the backup qube share it here). */
export function machineEnv(m: ReturnType<typeof machine>, dom0Root = m.dom0): NodeJS.ProcessEnv {
  return {
    QUBES_SIM_ROOT: dom0Root,
    QUBES_SIM_AGENT: BUILT.agent,
    QUBES_SIM_CHUNK_SIZE: String(128 * KiB),
    QUBES_SIM_VM_NAME: "backup",
    // The dom0 user says yes to the agent's restore dialog (these tests answer the qrexec ask themselves).
    QUBES_SIM_DIALOG_ANSWER: "yes",
    QUBES_DEDUP_AGENT_ROOT: m.agentRoot,
    QUBES_DEDUP_SHIM: BUILT.shim,
    QUBES_DEDUP_REAL_SCRYPT: "/usr/bin/scrypt",
    QUBES_DEDUP_DB: m.db,
    QUBES_DEDUP_QREXEC_CLIENT: BUILT.client,
    PATH: `${BUILT.dom0Bin}:${BUILT.backupQubeBin}:${process.env.PATH}`,
  };
}

/** The machine's restic repository, for the kit's restic listings. */
export function resticRepo(m: ReturnType<typeof machine>): ResticRepo {
  return { location: m.restic, passwordFile: m.resticPass };
}

/**
 * Installs what the backup-qube package puts into the template of
 * `management_dispvm` for paranoid-mode restores (its profile.d script and
 * the shim, tools/package/template-files.ts) into a simulated dom0's
 * management-dispvm/ overlay.
 */
export function installDispvmPackage(dom0Root: string): void {
  const overlay = path.join(dom0Root, "management-dispvm");
  fs.mkdirSync(path.join(overlay, "etc/profile.d"), { recursive: true });
  fs.mkdirSync(path.join(overlay, "usr/lib/qubes-dedup/bin"), { recursive: true });
  fs.copyFileSync(path.join(WORKSPACE, "packaging/template/profile.d-qubes-dedup.sh"), path.join(overlay, "etc/profile.d/qubes-dedup.sh"));
  fs.copyFileSync(BUILT.shim, path.join(overlay, "usr/lib/qubes-dedup/bin/scrypt"));
  fs.chmodSync(path.join(overlay, "usr/lib/qubes-dedup/bin/scrypt"), 0o755);
}
