/**
 * qvm-remove for the simulated dom0.
 * usage: qvm-remove [-f|--force] QUBE...
 */
import { UsageError } from "../errors.ts";
import { removeQube } from "../dom0/qubes.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qvm-remove", "[-f|--force] QUBE...", "Removes qubes from the simulated system in $QUBES_SIM_ROOT.")
  .option("-f, --force", "do not ask for confirmation")
  .argument("[qubes...]");

runCli(program, async (_values, positionals) => {
  if (positionals.length === 0) throw new UsageError("missing QUBE");
  const root = rootFromEnv();
  for (const q of positionals) removeQube(root, q);
  return 0;
});
