/**
 * `qubes-dedup schedules list|add|pause|resume|remove`: the dashboard's
 * schedules (cron, UTC). The dashboard's server runs them.
 */
import type { Command } from "commander";
import { createSchedule, getRepository, listSchedules, removeSchedule, scheduleInput, SCHEDULE_KINDS, setScheduleEnabled, type ScheduleView } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { UsageError, mistakes } from "../usage.ts";

function scheduleId(v: string): number {
  if (!/^[1-9]\d{0,9}$/.test(v)) throw new UsageError(`a schedule id is a number as "schedules list" shows it, not "${v}"`);
  return Number(v);
}

function line(s: ScheduleView): string {
  const what = s.kind === "backup" ? ` (${s.qubes.length ? s.qubes.join(" ") : "default set"})` : s.kind === "check" && s.readDataSubset ? ` (reads ${s.readDataSubset})` : "";
  const next = s.enabled ? `next ${s.nextRuns[0]!.toISOString().slice(0, 16).replace("T", " ")} UTC` : "paused";
  return `${String(s.id).padEnd(5)}${s.repository.padEnd(12)}${`${s.kind}${what}`.padEnd(32)}${s.cron.padEnd(16)}${next}\n`;
}

export function registerSchedules(program: Command): void {
  const group = program.command("schedules").usage("list|add|pause|resume|remove").summary("maintenance schedules (cron, UTC)").description("maintenance schedules (cron, UTC), run by the dashboard's server");

  const list = group
    .command("list")
    .usage("[--json]")
    .description("every schedule with its next run")
    .option("--json", "one JSON array on stdout")
    .action(async (o: { json?: boolean }, c: Command) => {
      await withDb(globals(c).db, async (db) => {
        const all = await listSchedules(db);
        if (o.json) process.stdout.write(`${JSON.stringify(all)}\n`);
        else process.stdout.write(all.length ? `ID   REPOSITORY  WHAT                            CRON (UTC)      \n${all.map(line).join("")}` : "no schedule yet\n");
      });
    });
  mistakes(list, { "commander.excessArguments": "schedules list takes no arguments" });

  const add = group
    .command("add")
    .usage("<kind> <cron> [--repo NAME] [options]")
    .description("add a schedule to the --repo repository")
    .argument("<kind>", SCHEDULE_KINDS.join(", "))
    .argument("<cron>", 'five-field cron expression, UTC, quoted: "0 3 * * *"')
    .option("--qubes <names>", "for backups: qubes, space separated (default: dom0's backup set)")
    .option("--full", "for backups: every selected qube each time (default: only the qubes dom0 finds changed)")
    .option("--read-data-subset <subset>", 'for checks: part of the data to read, e.g. "5%"')
    .option("--json", "one JSON object on stdout: the new schedule")
    .action(async (kind: string, cron: string, o: { qubes?: string; readDataSubset?: string; full?: boolean; json?: boolean }, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const parsed = scheduleInput.safeParse({
          repositoryId: (await getRepository(db, repo)).id,
          kind,
          cron,
          qubes: o.qubes ? o.qubes.split(/[\s,]+/).filter(Boolean) : [],
          ...(o.readDataSubset ? { readDataSubset: o.readDataSubset } : {}),
          fullBackup: o.full === true,
        });
        if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "));
        const { id } = await createSchedule(db, parsed.data);
        const view = (await listSchedules(db)).find((s) => s.id === id)!;
        if (o.json) process.stdout.write(`${JSON.stringify(view)}\n`);
        else process.stdout.write(line(view));
      });
    });
  mistakes(add, { "commander.missingArgument": "schedules add takes <kind> and <cron>", "commander.excessArguments": 'schedules add takes <kind> and <cron> (quote the cron expression: "0 3 * * *")' });

  for (const [name, enabled] of [["pause", false], ["resume", true]] as const) {
    const cmd = group
      .command(name)
      .usage("<id>")
      .description(`${name} a schedule`)
      .argument("<id>", "schedule id")
      .action(async (id: string, _o: unknown, c: Command) => {
        await withDb(globals(c).db, async (db) => {
          const n = scheduleId(id);
          if (!(await db.prisma.schedule.findUnique({ where: { id: n } }))) throw new Error(`there is no schedule ${n}: see "qubes-dedup schedules list".`);
          await setScheduleEnabled(db, n, enabled);
          process.stderr.write(`qubes-dedup: schedule ${n} ${enabled ? "resumed" : "paused"}\n`);
        });
      });
    mistakes(cmd, { "commander.missingArgument": `schedules ${name} takes one <id>`, "commander.excessArguments": `schedules ${name} takes one <id>` });
  }

  const remove = group
    .command("remove")
    .usage("<id>")
    .description("delete a schedule (its past runs stay in the log)")
    .argument("<id>", "schedule id")
    .action(async (id: string, _o: unknown, c: Command) => {
      await withDb(globals(c).db, async (db) => {
        const n = scheduleId(id);
        if (!(await db.prisma.schedule.findUnique({ where: { id: n } }))) throw new Error(`there is no schedule ${n}: see "qubes-dedup schedules list".`);
        await removeSchedule(db, n);
        process.stderr.write(`qubes-dedup: schedule ${n} removed\n`);
      });
    });
  mistakes(remove, { "commander.missingArgument": "schedules remove takes one <id>", "commander.excessArguments": "schedules remove takes one <id>" });
}
