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
    .option("--cacert <file>", "restic: PEM file of the CA of the REST server's TLS certificate (its own certificate when self-signed)")
    .option("--append-only", "the server keeps the repository append-only (borg serve --append-only; a rest-server --append-only is detected): retention runs on the server")
    .option("--machine <name>", "this machine's name when several machines back up into the repository: its snapshots carry it, and it lists, reindexes, keeps and cleans up only its own")
    .action(async (name: string, o: { engine: string; location: string; passwordFile: string; cacert?: string; appendOnly?: boolean; machine?: string }, cmd: Command) => {
      await withDb(globals(cmd).db, async (db) => {
        const r = await addRepository(db, { name, engine: o.engine as "restic" | "borg", location: o.location, passwordFile: o.passwordFile, caCertFile: o.cacert, appendOnly: o.appendOnly, machine: o.machine });
        const shown = (await registeredRepositories(db)).find((x) => x.name === r.name)?.location ?? r.name;
        const notes = [r.appendOnly ? "append-only: retention runs on the server" : "", r.machine ? `machine ${r.machine}` : ""].filter(Boolean);
        process.stderr.write(`qubes-dedup: repository "${r.name}" (${[r.engine, ...notes].join(", ")}) at ${shown} is ready\n`);
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
        else for (const r of repos) process.stdout.write(`${r.name}\t${r.engine}\t${r.location}${r.appendOnly ? "\tappend-only" : ""}${r.machine ? `\tmachine ${r.machine}` : ""}\n`);
      });
    });
  mistakes(list, { "commander.excessArguments": "repo list takes no arguments" });
}
