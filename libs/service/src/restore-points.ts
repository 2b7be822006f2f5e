/**
 * Restore points as the backup qube sees them, from the index db: the
 * restore point of a snapshot S is, for each qube, its latest snapshot at or
 * before S. With changed-only backups a snapshot holds only the qubes that
 * changed, so a point is made of several snapshots. The qubes of a point are
 * those S's qubes.xml lists (the qubes dom0 had then) that some snapshot
 * holds; for rows indexed before that list was kept, every qube backed up so
 * far.
 *
 * This is the list shown to the user. What a restore takes is decided again
 * by dom0 from its own ledger (the request names only the point, by the
 * backup-id of its newest backup), so a backup qube that lies here cannot
 * make dom0 restore other data.
 */
import type { Database } from "@qubes-dedup/db";
import { shortSnapshotId, type EngineKind } from "@qubes-dedup/pipeline";
import { getRepository } from "./repositories.ts";

/** One qube of a restore point: the snapshot holding its data. Sizes in bytes, ages in seconds. */
export interface PointQubeView {
  name: string;
  backupId: string;
  /** The snapshot's short id (what `dump` takes). */
  shortId: string;
  /** When that snapshot was stored. */
  createdAt: Date;
  /** How old the qube's data is at the point: point time − its snapshot's time. */
  ageSeconds: number;
  /** backup-size of the qube in that snapshot. */
  bytes: bigint;
}

/** A restore point: named by its newest snapshot (the point "as of" that backup). */
export interface RestorePointView {
  /** The backup-id of the newest snapshot: what dom0 is asked to restore (`{"point": <backupId>}`). */
  backupId: string;
  shortId: string;
  createdAt: Date;
  /** Qubes in the order they first appear in the snapshots. */
  qubes: PointQubeView[];
  /** How many snapshots the point takes data from. */
  snapshots: number;
}

/** The rows a point is computed from: a snapshot with its qubes and list. */
interface SnapRow {
  backupId: string;
  shortId: string;
  createdAt: Date;
  listed: string[];
  qubes: { name: string; bytes: bigint }[];
}

async function snapshotRows(db: Database, repository: string): Promise<SnapRow[]> {
  const repo = await getRepository(db, repository);
  const rows = await db.prisma.snapshot.findMany({
    where: { repositoryId: repo.id },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    include: { qubes: { select: { name: true, qid: true, backupSizeBytes: true }, orderBy: { qid: "asc" } } },
  });
  return rows.map((s) => ({
    backupId: s.backupId,
    shortId: shortSnapshotId(repo.engine as EngineKind, s.engineSnapshotId),
    createdAt: s.createdAt,
    listed: JSON.parse(s.listedQubes) as string[],
    qubes: s.qubes.map((q) => ({ name: q.name, bytes: q.backupSizeBytes })),
  }));
}

/** The point of `rows[upTo]` (rows oldest first). Pure. */
function pointOf(rows: SnapRow[], upTo: number): RestorePointView {
  const at = rows[upTo]!;
  const latest = new Map<string, { row: SnapRow; bytes: bigint }>();
  for (const row of rows.slice(0, upTo + 1)) for (const q of row.qubes) latest.set(q.name, { row, bytes: q.bytes });
  const qubes = [...latest.entries()]
    .filter(([name]) => at.listed.length === 0 || at.listed.includes(name))
    .map(([name, { row, bytes }]) => ({ name, backupId: row.backupId, shortId: row.shortId, createdAt: row.createdAt, ageSeconds: (at.createdAt.getTime() - row.createdAt.getTime()) / 1000, bytes }));
  return { backupId: at.backupId, shortId: at.shortId, createdAt: at.createdAt, qubes, snapshots: new Set(qubes.map((q) => q.backupId)).size };
}

/**
 * Every restore point of a repository, newest first: one per snapshot.
 * @throws ServiceError when the repository is not registered.
 */
export async function listRestorePoints(db: Database, repository: string): Promise<RestorePointView[]> {
  const rows = await snapshotRows(db, repository);
  return rows.map((_, i) => pointOf(rows, i)).reverse();
}

/** What dom0 last said about a qube's data (a changed-only backup's verdict). */
export interface ChangeView {
  /** "unchanged": its last backup still held its data then; "backed-up": it had changed and that run stored it; "changed": it had changed and that run failed. */
  state: "unchanged" | "backed-up" | "changed";
  /** When dom0 judged (the request's start). */
  at: Date;
  /** dom0's words, e.g. "changed: private volume replaced (lv uuid)". */
  reason: string;
}

/** One row of the Qubes page. */
export interface QubeOverview {
  name: string;
  /** True when no snapshot holds the qube (highlighted). */
  neverBackedUp: boolean;
  /** Its newest snapshot, or null. */
  last: { backupId: string; shortId: string; createdAt: Date; ageSeconds: number } | null;
  /** dom0's latest verdict on it, or null when no changed-only backup judged it yet (unknown). */
  change: ChangeView | null;
  /** backup-size in each snapshot holding it, oldest first. */
  sizes: { at: Date; bytes: bigint }[];
}

const VERDICT_RE = /^([A-Za-z0-9][A-Za-z0-9_.-]*): (.+)$/;

/** dom0's per-qube verdicts in the newest backup request that has any (its `note` lines). */
async function latestVerdicts(db: Database, repositoryId: number): Promise<Map<string, ChangeView>> {
  const job = await db.prisma.job.findFirst({ where: { repositoryId, kind: "backup-request", log: { not: "" }, status: { in: ["succeeded", "failed"] } }, orderBy: { id: "desc" } });
  const out = new Map<string, ChangeView>();
  if (!job) return out;
  for (const line of job.log.split("\n")) {
    const m = VERDICT_RE.exec(line);
    if (!m) continue;
    const reason = m[2]!;
    const state = reason.startsWith("unchanged") ? "unchanged" : job.status === "succeeded" ? "backed-up" : "changed";
    out.set(m[1]!, { state, at: job.startedAt, reason });
  }
  return out;
}

/**
 * The Qubes page: one row per qube that the newest snapshot's qubes.xml
 * lists (the qubes dom0 had at its last backup, each backed up or not); for
 * rows indexed before the list was kept, every qube ever backed up. dom0's
 * verdicts (its note lines) count only for those names, so a note such as
 * `warning: …` is never taken for a qube. Ages are seconds
 * before `now`.
 * @throws ServiceError when the repository is not registered.
 */
export async function qubesOverview(db: Database, repository: string, now: Date = new Date()): Promise<QubeOverview[]> {
  const repo = await getRepository(db, repository);
  const rows = await snapshotRows(db, repository);
  const verdicts = await latestVerdicts(db, repo.id);
  const names: string[] = [];
  const add = (n: string) => void (names.includes(n) || names.push(n));
  const newest = rows.at(-1);
  if (newest?.listed.length) newest.listed.forEach(add);
  else for (const r of rows) r.qubes.forEach((q) => add(q.name));
  return names.map((name) => {
    const holding = rows.filter((r) => r.qubes.some((q) => q.name === name));
    const lastRow = holding.at(-1);
    return {
      name,
      neverBackedUp: lastRow === undefined,
      last: lastRow ? { backupId: lastRow.backupId, shortId: lastRow.shortId, createdAt: lastRow.createdAt, ageSeconds: (now.getTime() - lastRow.createdAt.getTime()) / 1000 } : null,
      change: verdicts.get(name) ?? null,
      sizes: holding.map((r) => ({ at: r.createdAt, bytes: r.qubes.find((q) => q.name === name)!.bytes })),
    };
  });
}

/** "3 d 4 h", "5 h 2 min", "40 s": an age for lists. Pure. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
