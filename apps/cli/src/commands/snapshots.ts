/** `qubes-dedup snapshots`: list snapshots with sizes and dedup ratio. */
import type { Command } from "commander";
import { formatBytes, listSnapshots, type SnapshotView } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

/** The table `snapshots` prints: a header, then one line per snapshot. */
export function snapshotTable(snaps: SnapshotView[]): string {
  let out = "ID        TIME                 QUBES  LOGICAL     NEW DATA    RATIO\n";
  for (const s of snaps) {
    out += `${s.id.slice(0, 8).padEnd(10)}${s.time.toISOString().slice(0, 19).replace("T", " ").padEnd(21)}${String(s.qubes.length).padEnd(7)}${formatBytes(s.logicalBytes).padEnd(12)}${formatBytes(s.addedBytes).padEnd(12)}${s.dedupRatio.toFixed(2)}x${s.compressed ? "  (compressed)" : ""}\n`;
  }
  return out;
}

export function registerSnapshots(program: Command): void {
  const snapshots = program
    .command("snapshots")
    .usage("[--repo NAME] [--json]")
    .description("list snapshots with sizes and dedup ratio")
    .option("--json", "one JSON array on stdout, sizes in bytes")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const { repo, db: dbPath } = globals(cmd);
      await withDb(dbPath, async (db) => {
        const snaps = await listSnapshots(db, repo);
        if (o.json) {
          const out = snaps.map((s) => ({ ...s, logicalBytes: Number(s.logicalBytes), addedBytes: Number(s.addedBytes), repositoryBytes: Number(s.repositoryBytes) }));
          process.stdout.write(`${JSON.stringify(out)}\n`);
        } else if (!snaps.length) {
          process.stdout.write(`no snapshots in "${repo}" yet: run a backup from dom0 (qubes-dedup-agent backup)\n`);
        } else {
          process.stdout.write(snapshotTable(snaps));
        }
      });
    });
  mistakes(snapshots, { "commander.excessArguments": "snapshots takes no arguments" });
}
