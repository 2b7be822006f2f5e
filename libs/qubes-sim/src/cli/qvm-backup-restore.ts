/**
 * qvm-backup-restore for the simulated dom0.
 * usage: qvm-backup-restore -d VM -p F [--verify-only]
 *          [--rename-conflicting|--skip-conflicting] [-x Q]... [--paranoid-mode]
 *          <location> [qube...]
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { runRestore } from "../restore/restore.ts";
import { rootFromEnv } from "../system/layout.ts";
import { readPassphrase, runCli } from "./common.ts";

const USAGE = `usage: qvm-backup-restore -d VM -p FILE [--verify-only]
                  [--rename-conflicting|--skip-conflicting] [-x QUBE]...
                  [--paranoid-mode] LOCATION [QUBE...]
Restores into the simulated system in $QUBES_SIM_ROOT.
`;

runCli("qvm-backup-restore", USAGE, async () => {
  const { values, positionals } = parseArgs({
    strict: true,
    allowPositionals: true,
    options: {
      "dest-vm": { type: "string", short: "d" },
      "passphrase-file": { type: "string", short: "p" },
      "verify-only": { type: "boolean" },
      "rename-conflicting": { type: "boolean" },
      "skip-conflicting": { type: "boolean" },
      exclude: { type: "string", short: "x", multiple: true },
      "paranoid-mode": { type: "boolean" },
    },
  });
  const [location, ...qubes] = positionals;
  if (!location) throw new UsageError("missing LOCATION");
  if (!values["passphrase-file"]) throw new UsageError("missing -p/--passphrase-file (the simulator cannot prompt for a passphrase)");
  if (values["rename-conflicting"] && values["skip-conflicting"]) throw new UsageError("--rename-conflicting and --skip-conflicting exclude each other");
  const root = rootFromEnv();
  const passphrase = readPassphrase(values["passphrase-file"]);
  await runRestore({
    root,
    passphrase,
    location,
    backupVm: values["dest-vm"] ?? "dom0",
    qubes,
    exclude: values.exclude ?? [],
    verifyOnly: values["verify-only"] ?? false,
    conflict: values["rename-conflicting"] ? "rename" : values["skip-conflicting"] ? "skip" : "error",
    paranoid: values["paranoid-mode"] ?? false,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
});
