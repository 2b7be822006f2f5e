/**
 * qvm-backup-restore for the simulated dom0.
 * usage: qvm-backup-restore -d VM -p F [--verify-only]
 *          [--rename-conflicting|--skip-conflicting] [-x Q]... [--paranoid-mode]
 *          <location> [qube...]
 */
import { Option } from "commander";
import { UsageError } from "../errors.ts";
import { runRestore } from "../restore/restore.ts";
import { rootFromEnv } from "../system/layout.ts";
import { readPassphrase, repeatable, runCli, simCommand } from "./common.ts";

const program = simCommand(
  "qvm-backup-restore",
  `-d VM -p FILE [--verify-only]
                  [--rename-conflicting|--skip-conflicting] [-x QUBE]...
                  [--paranoid-mode] LOCATION [QUBE...]`,
  "Restores into the simulated system in $QUBES_SIM_ROOT.",
)
  .option("-d, --dest-vm <vm>", "run LOCATION as a command in this qube")
  .option("-p, --passphrase-file <file>", "the passphrase's file (\"-\": stdin)")
  .option("--verify-only", "check the backup, restore nothing")
  .addOption(new Option("--rename-conflicting", "restore a qube that exists under a new name").conflicts("skipConflicting"))
  .option("--skip-conflicting", "leave out qubes that exist")
  .option("-x, --exclude <qube>", "leave this qube out (repeatable)", repeatable)
  .option("--paranoid-mode", "restore as for an untrusted backup")
  .argument("[location]")
  .argument("[qubes...]");

runCli(program, async (values, positionals) => {
  const [location, ...qubes] = positionals;
  if (!location) throw new UsageError("missing LOCATION");
  if (!values.passphraseFile) throw new UsageError("missing -p/--passphrase-file (the simulator cannot prompt for a passphrase)");
  const root = rootFromEnv();
  const passphrase = readPassphrase(values.passphraseFile);
  await runRestore({
    root,
    passphrase,
    location,
    backupVm: values.destVm ?? "dom0",
    qubes,
    exclude: values.exclude ?? [],
    verifyOnly: values.verifyOnly ?? false,
    conflict: values.renameConflicting ? "rename" : values.skipConflicting ? "skip" : "error",
    paranoid: values.paranoidMode ?? false,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
});
