/**
 * `qubes-dedup verify check|drill`: the dashboard's verification by hand,
 * recorded as maintenance runs (the dashboard shows them as the last check /
 * drill). Exit 1 when the check or drill fails.
 */
import type { Command } from "commander";
import { getRepository, runMaintenance } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

/** Runs one check or drill of the `--repo` repository and prints its outcome (one line, or one JSON object with --json). */
async function verify(cmd: Command, kind: "check" | "drill", o: { json?: boolean; readDataSubset?: string }): Promise<void> {
  const { repo, db: dbPath } = globals(cmd);
  await withDb(dbPath, async (db) => {
    const r = await getRepository(db, repo);
    const run = await runMaintenance(db, { repositoryId: r.id, kind, readDataSubset: o.readDataSubset ?? null });
    const row = await db.prisma.maintenanceRun.findUniqueOrThrow({ where: { id: run.id } });
    if (o.json) {
      const out = { run: run.id, repository: repo, kind, ok: run.ok, message: run.message, snapshot: row.snapshotRef, startedAt: row.startedAt, finishedAt: row.finishedAt };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      process.stdout.write(`${run.message}\n`);
    }
    if (!run.ok) process.exitCode = 1;
  });
}

export function registerVerify(program: Command): void {
  const group = program.command("verify").usage("check|drill").summary("check a repository or drill a restore").description("check a repository or drill a restore");
  const check = group
    .command("check")
    .usage("[--repo NAME] [--read-data-subset N%|A/B] [--json]")
    .description("run the engine's integrity check (with --read-data-subset also read that part of the data)")
    .option("--read-data-subset <subset>", 'part of the data to read and verify, e.g. "5%" or "1/10"')
    .option("--json", "one JSON object on stdout")
    .action((o: { json?: boolean; readDataSubset?: string }, c: Command) => verify(c, "check", o));
  mistakes(check, { "commander.excessArguments": "verify check takes no arguments" });
  const drill = group
    .command("drill")
    .usage("[--repo NAME] [--json]")
    .description("ask dom0 for a verify-only restore of the newest snapshot (dom0 asks its user to confirm)")
    .option("--json", "one JSON object on stdout")
    .action((o: { json?: boolean }, c: Command) => verify(c, "drill", o));
  mistakes(drill, { "commander.excessArguments": "verify drill takes no arguments" });
}
