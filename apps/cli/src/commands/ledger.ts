/**
 * `qubes-dedup ledger store|fetch`: what dom0's agent runs in the backup qube
 * (through `qvm-run --pass-io`, docs/LEDGER.md) to keep its signed ledger
 * copy in the repository and to get it back on a new dom0. stdin/stdout
 * carry the bytes; messages go to stderr.
 */
import type { Command } from "commander";
import { fetchLedgerMaterial, storeLedgerCopy } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

export function registerLedger(program: Command): void {
  const ledger = program.command("ledger").usage("store|fetch [--repo NAME]").summary("keep dom0's signed ledger copy in the repository").description("keep dom0's signed ledger copy in the repository (dom0's agent runs these)");
  const store = ledger
    .command("store")
    .usage("[--repo NAME] < COPY")
    .summary("store the ledger copy read from stdin")
    .description("store the signed ledger copy dom0 sends on stdin in the repository, as its own snapshot (never listed as a backup)")
    .action(async (_o: unknown, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const r = await storeLedgerCopy(db, { repository: repo, input: process.stdin });
        process.stderr.write(`qubes-dedup: stored dom0's ledger copy (sequence ${r.sequence}) in "${repo}" as snapshot ${r.snapshotId}\n`);
      });
    });
  const fetch = ledger
    .command("fetch")
    .usage("[--repo NAME]")
    .summary("write what a new dom0 needs to rebuild its ledger to stdout")
    .description("write every backup's header files and the newest ledger copy to stdout, for `qubes-dedup-agent ledger rebuild` in dom0")
    .action(async (_o: unknown, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      process.stdout.on("error", () => {});
      await withDb(dbPath, async (db) => {
        const r = await fetchLedgerMaterial(db, { repository: repo, output: process.stdout });
        process.stderr.write(`qubes-dedup: sent the header files of ${r.backups} backups of "${repo}" and ${r.copy ? "its newest ledger copy" : "no ledger copy (there is none)"}\n`);
      });
    });
  for (const c of [store, fetch]) mistakes(c, { "commander.excessArguments": `ledger ${c.name()} takes no arguments` });
}
