/**
 * qvm-ls for the simulated dom0: `--raw-list` (one qube name a line), and
 * `--raw-data --fields F,...` for the fields the agent reads (name, class,
 * include_in_backups): one line per qube, values joined by `|`, no header,
 * as qvm-ls prints them (booleans True/False, "-" for a property the qube's
 * class lacks: dom0 has no include_in_backups). `--running` lists only the
 * running qubes (dom0 always runs), `--halted` only the halted ones.
 * usage: qvm-ls [--running|--halted] --raw-list | --raw-data --fields F,...
 */
import { UsageError } from "../errors.ts";
import { liveQubeFields, liveQubeNames } from "../dom0/qubes.ts";
import { isRunning } from "../dom0/volumes.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qvm-ls", "[--running|--halted] --raw-list | --raw-data --fields F,...", "Lists the qubes of the simulated system in $QUBES_SIM_ROOT.")
  .option("--raw-list", "names only, one a line")
  .option("--raw-data", "values separated by |, no header")
  .option("-O, --fields <fields>", "comma-separated columns: name, class, include_in_backups")
  .option("--running", "only running qubes")
  .option("--halted", "only halted qubes");

runCli(program, async (values) => {
  const fields: string[] = values.rawList ? ["name"] : values.rawData && typeof values.fields === "string" ? values.fields.split(",").map((f: string) => f.trim()) : [];
  if (!fields.length) throw new UsageError("the simulator's qvm-ls supports only --raw-list and --raw-data --fields F,...");
  const root = rootFromEnv();
  const runs = (n: string) => n === "dom0" || isRunning(root, n);
  const shown = (n: string) => (values.running && !runs(n) ? false : !(values.halted && runs(n)));
  // rows come in qubes.xml's order, as the names do
  const names = liveQubeNames(root);
  liveQubeFields(root, fields).forEach((row, i) => shown(names[i]!) && process.stdout.write(`${row.join("|")}\n`));
  return 0;
});
