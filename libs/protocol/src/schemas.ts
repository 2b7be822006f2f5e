/**
 * The name rules of names.ts as zod schemas, for the backup qube's inputs
 * (CLI, dashboard, service). The messages are the rules in words.
 */
import { z } from "zod";
import { BACKUP_ID_RULE, QUBE_NAME_RULE, REPOSITORY_NAME_RULE, SNAPSHOT_REF_RULE, isBackupId, isQubeName, isRepositoryName, isSnapshotRef } from "./names.ts";

/** A qube name (Qubes' rule). */
export const qubeNameSchema = z.string().refine(isQubeName, `use ${QUBE_NAME_RULE}`);
/** A repository name. */
export const repositoryNameSchema = z.string().refine(isRepositoryName, `use ${REPOSITORY_NAME_RULE}`);
/** A snapshot reference: full id, id prefix or borg archive name. */
export const snapshotRefSchema = z.string().refine(isSnapshotRef, `use ${SNAPSHOT_REF_RULE}`);
/** A backup-id as qvm-backup writes it. */
export const backupIdSchema = z.string().refine(isBackupId, `expected ${BACKUP_ID_RULE}`);
