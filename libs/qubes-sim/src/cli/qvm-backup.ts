/**
 * qvm-backup for the simulated dom0.
 * usage: qvm-backup [--yes] [--no-compress|--compress|--compress-filter P]
 *          --passphrase-file F [--dest-vm VM] [--exclude Q]... <location> [qube...]
 * Compresses by default, as the real qvm-backup (qubesadmin/tools/qvm_backup.py).
 * With a qubesd unit file in the root, scrypt runs with qubesd's environment
 * (system/qubesd.ts), else with the caller's.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { runBackup } from "../backup/backup.ts";
import { rootFromEnv } from "../system/layout.ts";
import { hasQubesd, qubesdEnvironment } from "../system/qubesd.ts";
import { chunkSizeFromEnv, progressIntervalFromEnv, readPassphrase, runCli } from "./common.ts";

const USAGE = `usage: qvm-backup [--yes] [--no-compress|--compress|--compress-filter PROGRAM]
                  --passphrase-file FILE [--dest-vm VM] [--exclude QUBE]... LOCATION [QUBE...]
Backs up the simulated system in $QUBES_SIM_ROOT (chunk size: $QUBES_SIM_CHUNK_SIZE bytes;
least time between progress reports: $QUBES_SIM_PROGRESS_INTERVAL ms, default 1000).
`;

runCli("qvm-backup", USAGE, async () => {
  const { values, positionals } = parseArgs({
    strict: true,
    allowPositionals: true,
    options: {
      yes: { type: "boolean", short: "y" },
      "no-compress": { type: "boolean" },
      compress: { type: "boolean", short: "z" },
      "compress-filter": { type: "string", short: "Z" },
      "passphrase-file": { type: "string", short: "p" },
      "dest-vm": { type: "string", short: "d" },
      exclude: { type: "string", short: "x", multiple: true },
    },
  });
  const [location, ...qubes] = positionals;
  if (!location) throw new UsageError("missing LOCATION");
  if (!values["passphrase-file"]) throw new UsageError("missing --passphrase-file (the simulator cannot prompt for a passphrase)");
  if ((values.compress || values["compress-filter"]) && values["no-compress"]) throw new UsageError("--compress and --no-compress exclude each other");
  const root = rootFromEnv();
  const passphrase = readPassphrase(values["passphrase-file"]);
  let shown = false;
  await runBackup({
    root,
    passphrase,
    location,
    destVm: values["dest-vm"] ?? "dom0",
    qubes,
    exclude: values.exclude ?? [],
    compress: !values["no-compress"],
    compressionFilter: values["compress-filter"],
    qubesdEnv: hasQubesd(root) ? qubesdEnvironment(root) : undefined,
    chunkSize: chunkSizeFromEnv(process.env),
    progressIntervalMs: progressIntervalFromEnv(process.env),
    progress: (pct) => {
      shown = true;
      process.stderr.write(`\rMaking a backup... ${pct.toFixed(2)}%`);
    },
  });
  if (shown) process.stderr.write("\n");
  return 0;
});
