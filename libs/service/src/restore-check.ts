/**
 * A restore request names a backup that exists, checked before anything is
 * asked of dom0: otherwise the user would confirm a restore in dom0's dialog
 * only to see it fail after "allow".
 */
import { DumpError, resolveSnapshot } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { snapshotRefSchema } from "@qubes-dedup/protocol";
import { ServiceError } from "./errors.ts";
import { engineFor, getRepository } from "./repositories.ts";
import { findSnapshot } from "./snapshot-ref.ts";

/**
 * Resolves `ref` in the index db and, when the index does not know it (an
 * index not rebuilt yet), in the repository itself (the source of truth).
 * @throws ServiceError naming the reference when neither knows it, or it is
 *   ambiguous, or names an interrupted run; EngineError when the repository
 *   cannot be listed
 */
export async function assertRestorable(db: Database, repository: string, ref: string): Promise<void> {
  // a malformed reference never names a snapshot; restoreTaskInput refuses it
  // at input, and dom0's own grammar (the one that counts) refuses it there
  if (!snapshotRefSchema.safeParse(ref).success) return;
  const repo = await getRepository(db, repository);
  if (await findSnapshot(db, repo.id, ref)) return;
  const engine = engineFor(repo);
  try {
    resolveSnapshot(await engine.snapshots(), ref, engine.repo);
  } catch (e) {
    if (!(e instanceof DumpError)) throw e;
    throw new ServiceError(`${e.message.replace(/\.$/, "")}; nothing was asked of dom0.`);
  }
}
