/**
 * What a dashboard (or any backup-qube process) needs so that its qrexec
 * requests reach the simulated dom0: the environment, and the project's
 * qrexec policy in the simulated dom0. Used by the e2e setup and by
 * `npm run web:sim`.
 */
import fs from "node:fs";
import path from "node:path";

/** Where the simulated machine's parts are. Paths absolute. */
export interface SimulatedDom0 {
  /** The qubes-sim root (QUBES_SIM_ROOT): qubes, volumes, qrexec policy and pending confirmations. */
  simRoot: string;
  /** The dom0 agent's --root (its passphrase in etc/qubes-dedup/passphrase); may be simRoot. */
  agentRoot: string;
  /** The dom0 agent bundle (apps/dom0-agent/dist/qubes-dedup-agent.mjs). */
  agent: string;
  /** The scrypt shim (libs/shim/dist/scrypt). */
  shim: string;
  /** Directories put first on PATH: the simulator's bin (qrexec-client-vm, qvm-backup, …) and one holding `qubes-dedup`. */
  binDirs: string[];
}

/** The environment variables of a backup-qube process talking to the simulated dom0 `m`. */
export function simulatedDom0Env(m: SimulatedDom0): Record<string, string> {
  return {
    PATH: [...m.binDirs, process.env.PATH ?? "/usr/bin:/bin"].join(":"),
    QUBES_SIM_ROOT: m.simRoot,
    QUBES_DEDUP_AGENT_ROOT: m.agentRoot,
    QUBES_SIM_AGENT: m.agent,
    QUBES_SIM_VM_NAME: "backup",
    QUBES_DEDUP_SHIM: m.shim,
  };
}

/**
 * Writes the project's qrexec policy into the simulated dom0 (what
 * `qubes-dedup-agent policy install` installs, with the backup rule as
 * given): restores are always asked.
 */
export function writeSimulatedPolicy(simRoot: string, backup: "allow" | "ask" = "allow"): void {
  fs.mkdirSync(path.join(simRoot, "etc", "qubes", "policy.d"), { recursive: true });
  fs.writeFileSync(path.join(simRoot, "etc", "qubes", "policy.d", "30-qubes-dedup.policy"), `qubes.DedupBackup * backup dom0 ${backup}\nqubes.DedupRestore * backup dom0 ask\n`);
}
