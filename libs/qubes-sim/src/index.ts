/**
 * Simulator of the dom0 side of Qubes OS (no Qubes machine is available
 * here): qubesd's scrypt calls, qvm-backup, qvm-backup-restore and a system
 * generator, faithful to backup format v4 as described in DESIGN.md.
 */
export { callScrypt, type ScryptCallOptions, type ScryptCallResult } from "./tty/scrypt-call.ts";
export { SimError, UsageError } from "./errors.ts";
export { addQube, createSystem, defaultQubes, type PoolKind, type QubeSpec, type SystemSpec } from "./system/create.ts";
export { hasQubesd, qubesdEnvironment, qubesdUnitFiles, unitEnvironment, writeQubesdUnit, SYSTEMD_SERVICE_PATH } from "./system/qubesd.ts";
export { writeExt4Image, ROOT_PARTITION_OFFSET, type Ext4Options } from "./system/ext4.ts";
export { mutateVolume, writeVolumeImage, type MutateOptions } from "./system/content.ts";
export { simPaths, loadQubesXml, rootFromEnv } from "./system/layout.ts";
export { parseQubesXml, serializeQubesXml, domainName, domainQid, type QubesXml, type Domain } from "./system/qubes-xml.ts";
export { runBackup, backupHeaderText, makeBackupId, DEFAULT_CHUNK_SIZE, type BackupOptions, type BackupResult } from "./backup/backup.ts";
export { sparseMemberHeader, SparseMapBuilder, volumeInnerStream, type SparseEntry } from "./backup/tarwriter.ts";
export { qrexecCall, agentPath, REFUSED_EXIT, DOM0_SERVICES, type QrexecCallOptions } from "./qrexec/client.ts";
export { parsePolicy, evaluatePolicy, loadPolicy, policyDir, PolicyError, type PolicyRule, type PolicyAction, type QrexecCall } from "./qrexec/policy.ts";
export { askConfirmation, answerPending, listPending, waitForPending, pendingDir, type PendingCall } from "./qrexec/ask.ts";
export { freePort, startRest, type RestServer } from "./rest-server.ts";
export { runParanoidRestore, sanitizeLog, type ParanoidRestoreOptions } from "./restore/paranoid.ts";
export { disposablePath, PARANOID_DISPVM_NAME } from "./restore/disposable.ts";
export { importVolume, isRunning, registerVolumes, resizeVolume, revertVolume, runningQubes, runningVolumePath, shutdownQube, startQube, volumeDriver, type VolumeDriver } from "./dom0/volumes.ts";
export { renameQube, setQubeFeature, setQubeProperty } from "./dom0/settings.ts";
export { removeQube } from "./dom0/qubes.ts";
export { lvRows, lvUuid, readLvTable, type LvRow } from "./dom0/lvm.ts";
export { QUBES_BASE_DIR } from "./system/dom0-view.ts";
