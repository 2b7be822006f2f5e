/**
 * qvm-ls for the simulated dom0, `--raw-list` only: one qube name a line.
 * usage: qvm-ls --raw-list
 */
import { UsageError } from "../errors.ts";
import { liveQubeNames } from "../dom0/qubes.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qvm-ls", "--raw-list", "Lists the qubes of the simulated system in $QUBES_SIM_ROOT.").option("--raw-list", "names only, one a line");

runCli(program, async (values) => {
  if (!values.rawList) throw new UsageError("the simulator's qvm-ls supports only --raw-list");
  for (const n of liveQubeNames(rootFromEnv())) process.stdout.write(`${n}\n`);
  return 0;
});
