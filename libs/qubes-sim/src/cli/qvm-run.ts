/**
 * qvm-run for the simulated dom0: runs COMMAND "in" qube VM, which in the
 * simulator is this machine with the caller's environment (as the location
 * commands of qvm-backup / qvm-backup-restore are). On Qubes the command
 * goes to the qube's qubes.VMShell service and runs there in a shell as
 * the default user; with --pass-io its stdin and stdout are this
 * process's, and qvm-run exits with the command's status.
 * usage: qvm-run [-p|--pass-io] [--no-gui] [--no-autostart] [--no-colour-output] [--no-colour-stderr] [--no-filter-escape-chars] VM COMMAND
 */
import { spawn } from "node:child_process";
import { UsageError } from "../errors.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qvm-run", "[-p|--pass-io] [--no-gui] [--no-autostart] [--no-colour-output] [--no-colour-stderr] [--no-filter-escape-chars] VM COMMAND", "Runs COMMAND in a qube of the simulated system (here, in a shell with the caller's environment).")
  .option("-p, --pass-io", "pass stdin and stdout to the command, exit with its status")
  .option("--no-gui", "run without the GUI")
  .option("--no-autostart", "do not start the qube")
  .option("--no-colour-output", "do not colour stdout")
  .option("--no-colour-stderr", "do not colour stderr")
  .option("--no-filter-escape-chars", "pass terminal escape characters unchanged")
  .argument("[vm]")
  .argument("[command]");

runCli(program, async (values, positionals) => {
  const [vm, command] = positionals;
  if (!vm || command === undefined || positionals.length > 2) throw new UsageError("give exactly one VM and one COMMAND");
  const io = values.passIo ? "inherit" : "ignore";
  const child = spawn("/bin/sh", ["-c", command], { stdio: [io, io, "inherit"], env: process.env });
  const code = await new Promise<number>((resolve) => {
    child.on("error", () => resolve(127));
    child.on("close", (c, signal) => resolve(c ?? (signal ? 128 + 15 : 1)));
  });
  return values.passIo ? code : code === 0 ? 0 : 1;
});
