/**
 * `qubes-dedup retention show|set|apply`: the repository's keep rules and
 * applying them. `apply --dry-run` lists what would be forgotten (read from
 * the engine) and changes nothing; `apply` forgets exactly the runs such a
 * preview lists, recorded as a maintenance run.
 */
import type { Command } from "commander";
import { getRepository, getRetention, previewRetention, runMaintenance, setRetention, type RetentionResult } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { UsageError, mistakes } from "../usage.ts";

const RULES = ["keepLast", "keepDaily", "keepWeekly", "keepMonthly"] as const;

function count(flag: string) {
  return (v: string): number => {
    if (!/^\d{1,5}$/.test(v) || Number(v) > 10000) throw new UsageError(`${flag} takes a whole number from 0 to 10000, not "${v}"`);
    return Number(v);
  };
}

function planLines(p: RetentionResult): string {
  return p.runs.map((r) => `${r.keep ? "keep  " : "forget"}  ${r.time.toISOString().slice(0, 19).replace("T", " ")}  ${r.dataId.slice(0, 12)}\n`).join("");
}

export function registerRetention(program: Command): void {
  const group = program.command("retention").usage("show|set|apply").summary("keep rules of a repository, and applying them").description("keep rules of a repository, and applying them");

  const show = group
    .command("show")
    .usage("[--repo NAME] [--json]")
    .description("print the repository's keep rules")
    .option("--json", "one JSON object on stdout (null when none is set)")
    .action(async (o: { json?: boolean }, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const p = await getRetention(db, (await getRepository(db, repo)).id);
        const rules = p ? Object.fromEntries(RULES.map((k) => [k, p[k] ?? 0])) : null;
        if (o.json) process.stdout.write(`${JSON.stringify(rules)}\n`);
        else process.stdout.write(rules ? `${RULES.map((k) => `${k.replace("keep", "keep-").toLowerCase()} ${rules[k]}`).join(", ")}\n` : `repository "${repo}" has no retention policy\n`);
      });
    });
  mistakes(show, { "commander.excessArguments": "retention show takes no arguments" });

  const set = group
    .command("set")
    .usage("[--repo NAME] [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]")
    .description("set the keep rules (rules not given are 0, unused)")
    .option("--keep-last <n>", "keep the n newest backup runs", count("--keep-last"), 0)
    .option("--keep-daily <n>", "keep the newest run of each of the n newest days", count("--keep-daily"), 0)
    .option("--keep-weekly <n>", "the same per ISO week", count("--keep-weekly"), 0)
    .option("--keep-monthly <n>", "the same per month", count("--keep-monthly"), 0)
    .action(async (o: Record<(typeof RULES)[number], number>, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const id = (await getRepository(db, repo)).id;
        await setRetention(db, { repositoryId: id, keepLast: o.keepLast, keepDaily: o.keepDaily, keepWeekly: o.keepWeekly, keepMonthly: o.keepMonthly });
        process.stderr.write(`qubes-dedup: retention policy of "${repo}" saved\n`);
      });
    });
  mistakes(set, { "commander.excessArguments": "retention set takes no arguments, only --keep-… options" });

  const apply = group
    .command("apply")
    .usage("[--repo NAME] [--dry-run] [--json]")
    .description("forget (and prune) the backup runs the policy does not keep; --dry-run only lists them")
    .option("--dry-run", "list what would be kept and forgotten, change nothing")
    .option("--json", "one JSON object on stdout: every run with its verdict")
    .action(async (o: { dryRun?: boolean; json?: boolean }, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const plan = await previewRetention(db, repo);
        let outcome: { ok: boolean; message: string; run?: number } = { ok: true, message: `dry run: would forget ${plan.forgotten.length} of ${plan.runs.length} backup run(s); nothing was changed.` };
        if (!o.dryRun) {
          const r = await runMaintenance(db, { repositoryId: (await getRepository(db, repo)).id, kind: "retention", confirmedForget: plan.forgotten });
          outcome = { ok: r.ok, message: r.message, run: r.id };
        }
        if (o.json) {
          const runs = plan.runs.map((r) => ({ id: r.dataId, time: r.time, keep: r.keep }));
          process.stdout.write(`${JSON.stringify({ repository: repo, dryRun: o.dryRun === true, ...outcome, forgotten: outcome.ok ? plan.forgotten : [], runs })}\n`);
        } else {
          process.stdout.write(`${planLines(plan)}${outcome.message}\n`);
        }
        if (!outcome.ok) process.exitCode = 1;
      });
    });
  mistakes(apply, { "commander.excessArguments": "retention apply takes no arguments" });
}
