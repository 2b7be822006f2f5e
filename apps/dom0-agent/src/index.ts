/**
 * The dom0 agent's building blocks (the CLI is src/cli.ts): command-line
 * building for qvm-backup / qvm-backup-restore, name validation, config,
 * shim install I/O, doctor, and the policy files (for the dom0 package).
 */
export { main, USAGE } from "./main.ts";
export { backupArgs, restoreArgs, restoreLocation, type BackupOptions, type RestoreOptions } from "./runs.ts";
export { ValidationError, qubeName, repoName, snapshotId } from "./validate.ts";
export { loadConfig, type AgentConfig } from "./config.ts";
export { doctor, type Check } from "./doctor.ts";
export { install as installShim } from "./install.ts";
export { policyFiles, type PolicyFile } from "./rpc/policy.ts";
