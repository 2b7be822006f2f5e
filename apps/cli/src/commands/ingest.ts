/** `qubes-dedup ingest`: store the Qubes backup stream read on stdin. */
import type { Command } from "commander";
import { formatBytes, runBackup } from "@qubes-dedup/service";
import { abortOnSignals, globals, note, withDb } from "../context.ts";
import { mistakes, UsageError } from "../usage.ts";

export function registerIngest(program: Command): void {
  const ingest = program
    .command("ingest")
    .usage("[--repo NAME]")
    .summary("store the Qubes backup stream read on stdin (dom0 runs this)")
    .description("store the Qubes backup stream read on stdin (the command dom0 names as the qvm-backup location)")
    .action(async (_o: unknown, cmd: Command) => {
      if (process.stdin.isTTY) throw new UsageError("ingest reads a Qubes backup stream on stdin; pipe one in (dom0 does, through qubes.Backup)");
      const { repo, db: dbPath } = globals(cmd);
      const signal = abortOnSignals();
      await withDb(dbPath, async (db) => {
        const r = await runBackup(db, { repository: repo, input: process.stdin, signal, log: note });
        for (const w of r.ingest.warnings) process.stderr.write(`qubes-dedup: warning: ${w}\n`);
        process.stderr.write(
          `qubes-dedup: stored snapshot ${r.ingest.snapshotId}: ${r.ingest.qubes.length} qubes, ${formatBytes(r.ingest.logicalBytes)} read, ${formatBytes(r.ingest.addedBytes)} added\n`,
        );
      });
    });
  mistakes(ingest, { "commander.excessArguments": "ingest takes no arguments: the stream comes on stdin" });
}
