// A minimal `dump` command for tests that need a real process and a real pipe
// (`… | head -c 100`, `> /dev/full`): like `qubes-dedup dump`, it writes the
// stream to stdout, treats a closed stdout as a normal end, and exits when
// the event loop is empty. Usage: dump-cli <restic|borg> <location> <password-file> <snapshot>
import { dump, openEngine, type EngineKind } from "../../src/index.ts";

const [engine, location, passwordFile, snapshot] = process.argv.slice(2);
process.stdout.on("error", () => {});
try {
  const r = await dump(openEngine({ engine: engine as EngineKind, location: location!, passwordFile: passwordFile! }), snapshot!, process.stdout);
  process.stderr.write(`dumped ${r.bytes}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
