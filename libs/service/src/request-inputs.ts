/**
 * What the dashboard accepts for backup and restore requests before anything
 * reaches dom0. dom0 validates again with its own strict grammar; these
 * checks only give the user an early, clear answer.
 */
import { z } from "zod";
import { repositoryNameSchema } from "./repositories.ts";

/**
 * A qube name as Qubes allows it: a letter first, then letters, digits,
 * `_`, `.` or `-`, 31 characters at most (qubes-core-admin `validate_name`).
 */
export const qubeNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,30}$/, "a qube name is 1-31 letters, digits, _ . or -, starting with a letter")
  .refine((n) => !n.endsWith("-dm") && n !== "none" && n !== "default", "this name is reserved by Qubes");

/** An engine snapshot id: restic hex (8-64) or a borg archive name of plain characters. */
export const snapshotRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, "a snapshot id is letters, digits, _ . : or -");

/** Most qubes one request may name; dom0 has its own size limit too. */
export const MAX_QUBES = 100;

/** Input of the dashboard's backup request (`requests.backup`, `startBackup`): no qubes means dom0's default backup set. */
export const backupTaskInput = z.object({
  repository: repositoryNameSchema,
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  exclude: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
});
export type BackupTaskInput = z.infer<typeof backupTaskInput>;

/** Input of the dashboard's restore request (`requests.restore`, `startRestore`): no qubes means every qube in the snapshot. */
export const restoreTaskInput = z.object({
  repository: repositoryNameSchema,
  snapshot: snapshotRefSchema,
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  verifyOnly: z.boolean().default(false),
  conflicts: z.enum(["rename", "skip"]).optional(),
});
export type RestoreTaskInput = z.infer<typeof restoreTaskInput>;
