/**
 * qvm-ls for the simulated dom0: `--raw-list` (one qube name a line), and
 * `--raw-data --fields F,...` for the fields the agent reads (name, class,
 * include_in_backups): one line per qube, values joined by `|`, no header,
 * as qvm-ls prints them (booleans True/False, "-" for a property the qube's
 * class lacks: dom0 has no include_in_backups).
 * usage: qvm-ls --raw-list | --raw-data --fields F,...
 */
import { UsageError } from "../errors.ts";
import { liveQubeFields } from "../dom0/qubes.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qvm-ls", "--raw-list | --raw-data --fields F,...", "Lists the qubes of the simulated system in $QUBES_SIM_ROOT.")
  .option("--raw-list", "names only, one a line")
  .option("--raw-data", "values separated by |, no header")
  .option("-O, --fields <fields>", "comma-separated columns: name, class, include_in_backups");

runCli(program, async (values) => {
  const fields: string[] = values.rawList ? ["name"] : values.rawData && typeof values.fields === "string" ? values.fields.split(",").map((f: string) => f.trim()) : [];
  if (!fields.length) throw new UsageError("the simulator's qvm-ls supports only --raw-list and --raw-data --fields F,...");
  for (const row of liveQubeFields(rootFromEnv(), fields)) process.stdout.write(`${row.join("|")}\n`);
  return 0;
});
