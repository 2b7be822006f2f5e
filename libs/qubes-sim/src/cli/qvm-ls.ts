/**
 * qvm-ls for the simulated dom0, `--raw-list` only: one qube name a line;
 * `--running` lists only the running qubes (dom0 always runs), `--halted`
 * only the halted ones.
 * usage: qvm-ls [--running|--halted] --raw-list
 */
import { UsageError } from "../errors.ts";
import { liveQubeNames } from "../dom0/qubes.ts";
import { isRunning } from "../dom0/volumes.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qvm-ls", "[--running|--halted] --raw-list", "Lists the qubes of the simulated system in $QUBES_SIM_ROOT.")
  .option("--raw-list", "names only, one a line")
  .option("--running", "only running qubes")
  .option("--halted", "only halted qubes");

runCli(program, async (values) => {
  if (!values.rawList) throw new UsageError("the simulator's qvm-ls supports only --raw-list");
  const root = rootFromEnv();
  const runs = (n: string) => n === "dom0" || isRunning(root, n);
  const shown = (n: string) => (values.running && !runs(n) ? false : !(values.halted && runs(n)));
  for (const n of liveQubeNames(root)) if (shown(n)) process.stdout.write(`${n}\n`);
  return 0;
});
