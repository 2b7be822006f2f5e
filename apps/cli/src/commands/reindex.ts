/** `qubes-dedup reindex`: rebuild a repository's index from the repository itself. */
import type { Command } from "commander";
import { reindex } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

export function registerReindex(program: Command): void {
  const cmd = program
    .command("reindex")
    .usage("[--repo NAME]")
    .summary("rebuild a repository's index from the repository itself")
    .description("rebuild the index of a repository from the repository itself (after losing the backup qube: repo add the repository, then reindex)")
    .action(async (_o: unknown, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const r = await reindex(db, repo);
        process.stderr.write(
          `qubes-dedup: index of "${repo}" rebuilt from the repository: ${r.added} added, ${r.kept} already indexed, ${r.removed} removed (gone from the repository)\n`,
        );
        if (r.incomplete.length)
          process.stderr.write(`qubes-dedup: warning: skipped ${r.incomplete.length} snapshots of interrupted backup runs (not backups; the next backup or check removes them): ${r.incomplete.join(", ")}\n`);
        for (const f of r.failed) process.stderr.write(`qubes-dedup: warning: backup ${f.snapshotId} was not indexed: ${f.reason}\n`);
        if (r.partial.length) process.stderr.write(`qubes-dedup: warning: ${r.partial.length} backups predate stored summaries, so their qubes are not listed: ${r.partial.join(", ")}\n`);
      });
    });
  mistakes(cmd, { "commander.excessArguments": "reindex takes no arguments" });
}
