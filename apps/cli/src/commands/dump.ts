/**
 * `qubes-dedup dump <snapshot> [--qubes a,b]`: write a snapshot's original
 * backup stream to stdout, or (with --qubes) one holding only those qubes.
 */
import type { Command } from "commander";
import { runDump } from "@qubes-dedup/service";
import { abortOnSignals, globals, note, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

export function registerDump(program: Command): void {
  const dump = program
    .command("dump")
    .usage("[--repo NAME] <snapshot> [--qubes a,b]")
    .summary("write a snapshot's original backup stream to stdout")
    .description("write a snapshot's original backup stream to stdout")
    .argument("<snapshot>", 'an id or unique prefix from "snapshots", or latest')
    .option("--qubes <a,b>", "only these qubes (comma-separated, as the backup names them; dom0's home is dom0): the header files, qubes.xml and their files, reading only their data")
    .action(async (snapshot: string, o: { qubes?: string }, cmd: Command) => {
      const { repo, db: dbPath } = globals(cmd);
      // A reader that stops early (qvm-backup-restore does) is a normal end.
      process.stdout.on("error", () => {});
      const signal = abortOnSignals();
      await withDb(dbPath, (db) => runDump(db, { repository: repo, snapshot, output: process.stdout, signal, log: note, qubes: o.qubes?.split(",") }));
    });
  mistakes(dump, {
    "commander.missingArgument": "dump takes exactly one <snapshot>",
    "commander.excessArguments": "dump takes exactly one <snapshot>",
  });
}
