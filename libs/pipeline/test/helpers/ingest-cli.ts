// A minimal `ingest` command for tests that kill a real process: like
// `qubes-dedup ingest`, it stores the stream read on stdin and prints the
// result (one JSON line: snapshotId, sideSnapshotId) on stdout.
// Usage: ingest-cli <restic|borg> <location> <password-file>
import { ingest, openEngine, type EngineKind } from "../../src/index.ts";

const [engine, location, passwordFile] = process.argv.slice(2);
try {
  const r = await ingest(process.stdin, openEngine({ engine: engine as EngineKind, location: location!, passwordFile: passwordFile! }));
  process.stdout.write(`${JSON.stringify({ snapshotId: r.snapshotId, sideSnapshotId: r.sideSnapshotId })}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
