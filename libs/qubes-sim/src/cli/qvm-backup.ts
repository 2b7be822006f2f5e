/**
 * qvm-backup for the simulated dom0.
 * usage: qvm-backup [--yes] [--no-compress|--compress|--compress-filter P]
 *          --passphrase-file F [--dest-vm VM] [--exclude Q]... <location> [qube...]
 * Compresses by default, as the real qvm-backup (qubesadmin/tools/qvm_backup.py).
 * With a qubesd unit file in the root, scrypt runs with qubesd's environment
 * (system/qubesd.ts), else with the caller's.
 */
import { UsageError } from "../errors.ts";
import { runBackup } from "../backup/backup.ts";
import { rootFromEnv } from "../system/layout.ts";
import { hasQubesd, qubesdEnvironment } from "../system/qubesd.ts";
import { chunkSizeFromEnv, progressIntervalFromEnv, readPassphrase, repeatable, runCli, simCommand } from "./common.ts";

const program = simCommand(
  "qvm-backup",
  `[--yes] [--no-compress|--compress|--compress-filter PROGRAM] --passphrase-file FILE
                  [--dest-vm VM] [--exclude QUBE]... LOCATION [QUBE...]`,
  `Backs up the simulated system in $QUBES_SIM_ROOT (chunk size: $QUBES_SIM_CHUNK_SIZE bytes;
least time between progress reports: $QUBES_SIM_PROGRESS_INTERVAL ms, default 1000).`,
)
  .option("-y, --yes", "do not ask for confirmation")
  .option("--no-compress", "do not compress (compressing is the default)")
  .option("-z, --compress", "compress the backup (the default)")
  .option("-Z, --compress-filter <program>", "compress with this program (gzip, bzip2, zstdmt, ...)")
  .option("-p, --passphrase-file <file>", "the passphrase's file (\"-\": stdin)")
  .option("-d, --dest-vm <vm>", "run LOCATION as a command in this qube")
  .option("-x, --exclude <qube>", "leave this qube out (repeatable)", repeatable)
  .argument("[location]")
  .argument("[qubes...]");
// commander pairs --compress with --no-compress (last one wins); the real tool refuses both
const given = new Set<string>();
for (const flag of ["compress", "no-compress", "compress-filter"]) program.on(`option:${flag}`, () => given.add(flag));

runCli(program, async (values, positionals) => {
  const [location, ...qubes] = positionals;
  if (given.has("no-compress") && given.size > 1) throw new UsageError("--compress and --no-compress exclude each other");
  if (!location) throw new UsageError("missing LOCATION");
  if (!values.passphraseFile) throw new UsageError("missing --passphrase-file (the simulator cannot prompt for a passphrase)");
  const root = rootFromEnv();
  const passphrase = readPassphrase(values.passphraseFile);
  let shown = false;
  await runBackup({
    root,
    passphrase,
    location,
    destVm: values.destVm ?? "dom0",
    qubes,
    exclude: values.exclude ?? [],
    compress: !given.has("no-compress"),
    compressionFilter: values.compressFilter,
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
