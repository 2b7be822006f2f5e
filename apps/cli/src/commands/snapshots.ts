/** `qubes-dedup snapshots`: list snapshots with sizes and dedup ratio. */
import type { Command } from "commander";
import { formatBytes, listSnapshots, snapshotJson, type SnapshotJson } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

/** The table `snapshots` prints: a header, then one line per snapshot. */
export function snapshotTable(snaps: SnapshotJson[]): string {
  let out = "ID        TIME                 QUBES  LOGICAL     NEW DATA    RATIO\n";
  for (const s of snaps) {
    out += `${s.shortId.padEnd(10)}${s.time.toISOString().slice(0, 19).replace("T", " ").padEnd(21)}${String(s.qubes.length).padEnd(7)}${formatBytes(s.logicalBytes).padEnd(12)}${formatBytes(s.addedBytes).padEnd(12)}${s.dedupRatio === null ? "-" : `${s.dedupRatio.toFixed(2)}x`}${s.compressed ? "  (compressed)" : ""}\n`;
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
        const snaps = (await listSnapshots(db, repo)).map(snapshotJson);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(snaps)}\n`);
        } else if (!snaps.length) {
          process.stdout.write(`no snapshots in "${repo}" yet: run a backup from dom0 (qubes-dedup-agent backup)\n`);
        } else {
          process.stdout.write(snapshotTable(snaps));
        }
      });
    });
  mistakes(snapshots, { "commander.excessArguments": "snapshots takes no arguments" });
}
