/** `qubes-dedup repo add|list`: register and list repositories. */
import type { Command } from "commander";
import { addRepository, registeredRepositories } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

export function registerRepo(program: Command): void {
  const repo = program.command("repo").usage("add|list").summary("register and list repositories").description("register and list repositories");

  const add = repo
    .command("add")
    .usage("<name> [options]")
    .description("register a repository, initialising it when it is new")
    .argument("<name>", "repository name, used as --repo NAME")
    .requiredOption("--engine <engine>", "restic or borg")
    .requiredOption("--location <path|url>", "where the repository lives (a directory, or rest:/sftp: for restic)")
    .requiredOption("--password-file <file>", "file holding the repository password")
    .action(async (name: string, o: { engine: string; location: string; passwordFile: string }, cmd: Command) => {
      await withDb(globals(cmd).db, async (db) => {
        const r = await addRepository(db, { name, engine: o.engine as "restic" | "borg", location: o.location, passwordFile: o.passwordFile });
        process.stderr.write(`qubes-dedup: repository "${r.name}" (${r.engine}) at ${r.location} is ready\n`);
      });
    });
  mistakes(add, {
    "commander.missingArgument": "repo add takes exactly one <name>",
    "commander.excessArguments": "repo add takes exactly one <name>",
    "commander.missingMandatoryOptionValue": "repo add needs --engine, --location and --password-file",
  });

  const list = repo
    .command("list")
    .usage("[--json]")
    .description("list registered repositories")
    .option("--json", "one JSON array on stdout")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withDb(globals(cmd).db, async (db) => {
        const repos = await registeredRepositories(db);
        if (o.json) process.stdout.write(`${JSON.stringify(repos)}\n`);
        else for (const r of repos) process.stdout.write(`${r.name}\t${r.engine}\t${r.location}\n`);
      });
    });
  mistakes(list, { "commander.excessArguments": "repo list takes no arguments" });
}
