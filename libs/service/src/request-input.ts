/**
 * What the backup qube accepts for backup and restore requests before it
 * asks dom0 (the dashboard's and the CLI's inputs to requestBackup /
 * requestRestore). The name rules are @qubes-dedup/protocol's, the ones dom0
 * applies again, so that a request passing here is not refused for a name.
 */
import { z } from "zod";
import { MAX_QUBES, qubeNameSchema, repositoryNameSchema, snapshotRefSchema } from "@qubes-dedup/protocol";

/** A backup request: no qubes means dom0's default backup set. */
export const backupRequestSchema = z.object({
  repository: repositoryNameSchema,
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  exclude: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
});

/** A restore request: no qubes means every qube in the snapshot. */
export const restoreRequestSchema = z.object({
  repository: repositoryNameSchema,
  snapshot: snapshotRefSchema,
  qubes: z.array(qubeNameSchema).max(MAX_QUBES).default([]),
  verifyOnly: z.boolean().default(false),
  conflicts: z.enum(["rename", "skip"]).optional(),
});
