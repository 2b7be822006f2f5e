// A minimal `dump` command for tests that need a real process and a real pipe
// (`… | head -c 100`, `> /dev/full`, a simulated qvm-backup-restore's
// location): like `qubes-dedup dump`, it writes the stream to stdout, treats
// a closed stdout as a normal end, and exits when the event loop is empty.
// With $DUMP_LOG set, each run appends one JSON line {bytes, repositoryBytesRead}.
// Usage: dump-cli <restic|borg> <location> <password-file> <snapshot> [--qubes a,b]
import fs from "node:fs";
import { dump, openEngine, type EngineKind } from "../../src/index.ts";

const [engine, location, passwordFile, snapshot, flag, list] = process.argv.slice(2);
process.stdout.on("error", () => {});
try {
  const qubes = flag === "--qubes" ? list!.split(",") : undefined;
  const r = await dump(openEngine({ engine: engine as EngineKind, location: location!, passwordFile: passwordFile! }), snapshot!, process.stdout, { qubes });
  process.stderr.write(`dumped ${r.bytes}\n`);
  if (process.env.DUMP_LOG) fs.appendFileSync(process.env.DUMP_LOG, `${JSON.stringify({ bytes: r.bytes, repositoryBytesRead: r.repositoryBytesRead })}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
