/** `qubes-dedup dump <snapshot>`: write a snapshot's original backup stream to stdout. */
import type { Command } from "commander";
import { runDump } from "@qubes-dedup/service";
import { abortOnSignals, globals, note, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

export function registerDump(program: Command): void {
  const dump = program
    .command("dump")
    .usage("[--repo NAME] <snapshot>")
    .summary("write a snapshot's original backup stream to stdout")
    .description("write a snapshot's original backup stream to stdout")
    .argument("<snapshot>", 'an id or unique prefix from "snapshots", or latest')
    .action(async (snapshot: string, _o: unknown, cmd: Command) => {
      const { repo, db: dbPath } = globals(cmd);
      // A reader that stops early (qvm-backup-restore does) is a normal end.
      process.stdout.on("error", () => {});
      const signal = abortOnSignals();
      await withDb(dbPath, (db) => runDump(db, { repository: repo, snapshot, output: process.stdout, signal, log: note }));
    });
  mistakes(dump, {
    "commander.missingArgument": "dump takes exactly one <snapshot>",
    "commander.excessArguments": "dump takes exactly one <snapshot>",
  });
}
