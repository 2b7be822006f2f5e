/**
 * A restore request names a backup that exists, checked before anything is
 * asked of dom0: otherwise the user would confirm a restore in dom0's dialog
 * only to see it fail after "allow".
 */
import { DumpError, resolveSnapshot } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { isBackupId, snapshotRefSchema } from "@qubes-dedup/protocol";
import { ServiceError } from "./errors.ts";
import { engineFor, getRepository } from "./repositories.ts";
import { findSnapshot } from "./snapshot-ref.ts";

/**
 * Resolves `ref` in the index db and, when the index does not know it (an
 * index not rebuilt yet), in the repository itself (the source of truth).
 * @returns the snapshot's backup-id when the index knows it (from its
 *   backup-header, recorded by ingest or reindex), so dom0's ledger can pick
 *   that backup (and say "older backup" when it is not the newest)
 * @throws ServiceError naming the reference when neither knows it, or it is
 *   ambiguous, or names an interrupted run; EngineError when the repository
 *   cannot be listed
 */
export async function assertRestorable(db: Database, repository: string, ref: string): Promise<string | undefined> {
  // a malformed reference never names a snapshot; restoreTaskInput refuses it
  // at input, and dom0's own grammar (the one that counts) refuses it there
  if (!snapshotRefSchema.safeParse(ref).success) return undefined;
  const repo = await getRepository(db, repository);
  const row = await findSnapshot(db, repo.id, ref);
  if (row) return isBackupId(row.backupId) ? row.backupId : undefined;
  const engine = engineFor(repo);
  try {
    resolveSnapshot(await engine.snapshots(), ref, engine.repo);
    return undefined;
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
    throw new ServiceError(`${e.message.replace(/\.$/, "")}; nothing was asked of dom0.`);
  }
}
