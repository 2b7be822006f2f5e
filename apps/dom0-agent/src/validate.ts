/**
 * Strict grammars for everything that ends up on a dom0 command line. dom0
 * trusts nothing from the backup qube, and the location string handed to
 * qvm-backup / qvm-backup-restore is built from fixed words plus values
 * that passed these checks. The rules are the protocol's (shared with the
 * backup qube, @qubes-dedup/protocol names.ts); these are the agent's names
 * for them.
 */
export {
  NameError as ValidationError,
  checkQubeName as qubeName,
  checkRepositoryName as repoName,
  checkSnapshotRef as snapshotId,
} from "@qubes-dedup/protocol";
