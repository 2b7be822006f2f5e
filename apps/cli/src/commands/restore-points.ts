/**
 * `qubes-dedup restore-points`: the repository's restore points, newest
 * first, each with the snapshot and the age of every qube's data in it.
 * Restoring one is asked of dom0 (`qubes-dedup-agent restore --point
 * <backup-id>` there, or the dashboard), which takes the plan from its own
 * ledger.
 */
import type { Command } from "commander";
import { formatAge, listRestorePoints, type RestorePointView } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

/** The `--json` form: times ISO 8601, sizes in bytes, ages in seconds. */
export function restorePointJson(p: RestorePointView) {
  return {
    backupId: p.backupId,
    shortId: p.shortId,
    time: p.createdAt.toISOString(),
    snapshots: p.snapshots,
    qubes: p.qubes.map((q) => ({ name: q.name, backupId: q.backupId, shortId: q.shortId, time: q.createdAt.toISOString(), ageSeconds: q.ageSeconds, bytes: Number(q.bytes) })),
  };
}

/** The text `restore-points` prints: one block per point, one line per qube. */
export function restorePointText(points: RestorePointView[]): string {
  let out = "";
  for (const p of points) {
    out += `${p.backupId}  ${p.createdAt.toISOString().slice(0, 19).replace("T", " ")}  ${p.qubes.length} qube(s) from ${p.snapshots} snapshot(s)\n`;
    for (const q of p.qubes) out += `  ${q.name.padEnd(32)}${q.shortId.padEnd(10)}${q.ageSeconds === 0 ? "this backup" : `${formatAge(q.ageSeconds)} older`}\n`;
  }
  return out;
}

export function registerRestorePoints(program: Command): void {
  const cmd = program
    .command("restore-points")
    .usage("[--repo NAME] [--json]")
    .description("list restore points (each qube's latest backup at or before a snapshot) and the age of each qube's data")
    .option("--json", "one JSON array on stdout, newest first; ages in seconds, sizes in bytes")
    .action(async (o: { json?: boolean }, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const points = await listRestorePoints(db, repo);
        if (o.json) process.stdout.write(`${JSON.stringify(points.map(restorePointJson))}\n`);
        else if (!points.length) process.stdout.write(`no restore points in "${repo}" yet: run a backup from dom0 (qubes-dedup-agent backup)\n`);
        else process.stdout.write(restorePointText(points));
      });
    });
  mistakes(cmd, { "commander.excessArguments": "restore-points takes no arguments" });
}
