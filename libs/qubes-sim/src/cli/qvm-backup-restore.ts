/**
 * qvm-backup-restore for the simulated dom0.
 * usage: qvm-backup-restore -d VM -p F [--verify-only]
 *          [--rename-conflicting|--skip-conflicting] [-x Q]... [--skip-dom0-home]
 *          [--paranoid-mode | --location-is-service] <location> [qube...]
 */
import { Option } from "commander";
import { UsageError } from "../errors.ts";
import { runParanoidRestore } from "../restore/paranoid.ts";
import { runRestore, type RestoreOptions } from "../restore/restore.ts";
import { rootFromEnv } from "../system/layout.ts";
import { readPassphrase, repeatable, runCli, simCommand } from "./common.ts";

const program = simCommand(
  "qvm-backup-restore",
  `-d VM -p FILE [--verify-only]
                  [--rename-conflicting|--skip-conflicting] [-x QUBE]...
                  [--skip-dom0-home] [--paranoid-mode|--location-is-service]
                  LOCATION [QUBE...]`,
  "Restores into the simulated system in $QUBES_SIM_ROOT.",
)
  .option("-d, --dest-vm <vm>", "run LOCATION as a command in this qube")
  .option("-p, --passphrase-file <file>", "the passphrase's file (\"-\": stdin)")
  .option("--verify-only", "check the backup, restore nothing")
  .addOption(new Option("--rename-conflicting", "restore a qube that exists under a new name").conflicts("skipConflicting"))
  .option("--skip-conflicting", "leave out qubes that exist")
  .option("-x, --exclude <qube>", "leave this qube out (repeatable)", repeatable)
  .option("--skip-dom0-home", "do not restore dom0's home")
  .addOption(new Option("--paranoid-mode", "parse the backup in a disposable qube, not in dom0").conflicts("locationIsService"))
  .option("--location-is-service", "LOCATION is qubes.RestoreById+<id> (the disposable's side of --paranoid-mode)")
  .argument("[location]")
  .argument("[qubes...]");

runCli(program, async (values, positionals) => {
  const [location, ...qubes] = positionals;
  if (!location) throw new UsageError("missing LOCATION");
  if (!values.passphraseFile) throw new UsageError("missing -p/--passphrase-file (the simulator cannot prompt for a passphrase)");
  const root = rootFromEnv();
  const passphrase = readPassphrase(values.passphraseFile);
  const options: RestoreOptions = {
    root,
    passphrase,
    location,
    backupVm: values.destVm ?? "dom0",
    qubes,
    exclude: values.exclude ?? [],
    verifyOnly: values.verifyOnly ?? false,
    conflict: values.renameConflicting ? "rename" : values.skipConflicting ? "skip" : "error",
    paranoid: values.paranoidMode ?? false,
    locationIsService: values.locationIsService ?? false,
    skipDom0Home: values.skipDom0Home ?? false,
    log: (line: string) => process.stdout.write(`${line}\n`),
  };
  if (options.paranoid) await runParanoidRestore(options);
  else await runRestore(options);
  return 0;
});
