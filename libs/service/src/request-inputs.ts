/**
 * What the backup qube (dashboard and CLI) accepts for backup and restore
 * requests before anything reaches dom0. The name rules are
 * @qubes-dedup/protocol's, the ones dom0 applies again with its own strict
 * grammar, so a request passing here is not refused there for a name, and
 * the user gets an early, clear answer.
 */
import { z } from "zod";
import { MAX_QUBES, RESTORE_POINT_RE, qubeNameSchema, repositoryNameSchema, snapshotRefSchema } from "@qubes-dedup/protocol";

export { MAX_QUBES, qubeNameSchema, snapshotRefSchema };

/** Input of a backup request (`requests.backup`, `startBackup`): no qubes means dom0's default backup set. */
export const backupTaskInput = z.object({
  repository: repositoryNameSchema,
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  exclude: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  /** Only the qubes dom0 finds changed since their last backup. */
  changed: z.boolean().optional(),
  /** With `changed`: every selected qube all the same. */
  full: z.boolean().optional(),
});
export type BackupTaskInput = z.infer<typeof backupTaskInput>;

/** Input of a restore request (`requests.restore`, `startRestore`): no qubes means every qube in the snapshot. */
export const restoreTaskInput = z.object({
  repository: repositoryNameSchema,
  snapshot: snapshotRefSchema,
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  verifyOnly: z.boolean().default(false),
  paranoid: z.boolean().default(false),
  conflicts: z.enum(["rename", "skip"]).optional(),
});
export type RestoreTaskInput = z.infer<typeof restoreTaskInput>;

/** Input of a restore-point request (`requests.restorePoint`, `startRestorePoint`): no qubes means every qube of the point. */
export const restorePointTaskInput = z.object({
  repository: repositoryNameSchema,
  point: z.string().regex(RESTORE_POINT_RE, "give latest, a backup-id or a UTC time such as 2026-12-02T10:00:00Z"),
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  conflicts: z.enum(["rename", "skip"]).optional(),
});
export type RestorePointTaskInput = z.infer<typeof restorePointTaskInput>;
