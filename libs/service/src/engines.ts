/**
 * Which engine versions this backup qube runs, for `qubes-dedup engines` and
 * the dashboard: each engine's binary (`$QUBES_DEDUP_RESTIC` /
 * `$QUBES_DEDUP_BORG` or the one on PATH), its version, and whether a
 * registered repository needs it.
 */
import { engineVersion, type EngineKind, type EngineVersion } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";

/** One engine as the backup qube has it. */
export interface EngineStatus extends EngineVersion {
  /** names of the registered repositories that use this engine, sorted */
  usedBy: string[];
  /** true when it cannot run and a registered repository needs it */
  blocking: boolean;
}

const KINDS: EngineKind[] = ["restic", "borg"];

/**
 * Both engines, restic first. Never throws for a missing engine: its
 * `problem` says what to install; `blocking` is set only when a registered
 * repository uses it (borg is optional otherwise).
 */
export async function engineStatus(db: Database, env: NodeJS.ProcessEnv = process.env): Promise<EngineStatus[]> {
  const repos = await db.prisma.repository.findMany({ select: { name: true, engine: true }, orderBy: { name: "asc" } });
  return Promise.all(
    KINDS.map(async (kind) => {
      const v = await engineVersion(kind, env);
      const usedBy = repos.filter((r) => r.engine === kind).map((r) => r.name);
      return { ...v, usedBy, blocking: v.version === undefined && usedBy.length > 0 };
    }),
  );
}
