/**
 * The `qubes-dedup` command tree (commander): global options, the help
 * layout, and every command from commands/. Parsing only; main.ts runs it.
 */
import { Command, Help } from "commander";
import { registerDump } from "./commands/dump.ts";
import { registerEngines } from "./commands/engines.ts";
import { registerFiles } from "./commands/files.ts";
import { registerIngest } from "./commands/ingest.ts";
import { registerLedger } from "./commands/ledger.ts";
import { registerReindex } from "./commands/reindex.ts";
import { registerRestorePoints } from "./commands/restore-points.ts";
import { registerRetention } from "./commands/retention.ts";
import { registerSchedules } from "./commands/schedules.ts";
import { registerVerify } from "./commands/verify.ts";
import { registerWebhook } from "./commands/webhook.ts";
import { registerRepo } from "./commands/repo.ts";
import { registerSnapshots } from "./commands/snapshots.ts";
import { registerWebToken } from "./commands/web-token.ts";
import { fromCommander } from "./usage.ts";

/** Every command of `cmd` and below, `cmd` first. */
function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/** "repo add <name> [options]": a command's place in the tree and its synopsis. */
function synopsis(cmd: Command): string {
  const names = [cmd.name()];
  for (let c = cmd.parent; c?.parent; c = c.parent) names.unshift(c.name());
  return `${names.join(" ")} ${cmd.usage()}`;
}

/**
 * Builds the program. Its parse errors are thrown (UsageError, HelpShown),
 * never printed or exited on: main.ts owns stderr and the exit code.
 */
export function createProgram(): Command {
  const program = new Command("qubes-dedup")
    .usage("<command> [options]")
    .description("the backup qube side of qubes-dedup")
    // global: accepted before or after the command name (commander's default without positional options)
    .option("--repo <name>", "repository name", "default")
    .option("--db <path>", "index database (default: $QUBES_DEDUP_DB or var/qubes-dedup.db)");
  registerRepo(program);
  registerIngest(program);
  registerDump(program);
  registerSnapshots(program);
  registerRestorePoints(program);
  registerFiles(program);
  registerReindex(program);
  registerVerify(program);
  registerRetention(program);
  registerSchedules(program);
  registerWebhook(program);
  registerWebToken(program);
  registerEngines(program);
  registerLedger(program);

  for (const cmd of allCommands(program)) {
    cmd
      .exitOverride((err) => {
        throw fromCommander(cmd, err);
      })
      .configureOutput({ writeErr: () => {}, outputError: () => {} })
      .configureHelp({
        showGlobalOptions: true,
        styleTitle: (title) => title.toLowerCase(),
        subcommandTerm: synopsis,
        // the program's list names the commands of a group (repo add, repo list) rather than the group
        visibleCommands(this: Help, c: Command) {
          return Help.prototype.visibleCommands.call(this, c).flatMap((sub) => (sub.commands.length && c === program ? sub.commands : [sub]));
        },
      });
  }
  return program;
}
