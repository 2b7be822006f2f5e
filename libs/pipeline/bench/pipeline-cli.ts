// Benchmark driver (not shipped; the product's CLI is `qubes-dedup` in
// apps/web): runs `ingest` or `dump` in a process of its own so that its
// wall time and peak RSS can be measured apart from the engine's.
// usage: pipeline-cli ingest --engine restic|borg --repo L --password-file F [--format 1]   (stream on stdin)
//        pipeline-cli dump --engine restic|borg --repo L --password-file F [--side ID] [--qubes a,b] <snapshot>   (stream to stdout)
// --side is the side record's snapshot id from ingest's result, as the
// product's index db hands it to dump; --format 1 stores the whole data in
// one snapshot, as before the per-qube layout (for comparisons).
// ingest prints its result as one JSON line on stdout (with qubeBytes: each
// qube's stream bytes), dump on stderr and, with $PIPELINE_CLI_LOG set, as a
// line appended to that file (a restore runs its location up to three
// times); both include peakRssMiB (VmHWM of this process).
import fs from "node:fs";
import { parseArgs } from "node:util";
import { dump, ingest, openEngine, type EngineKind } from "../src/index.ts";

const USAGE = "usage: pipeline-cli ingest|dump --engine restic|borg --repo LOCATION --password-file FILE [--format 1] [--side ID] [--qubes a,b] [snapshot]\n";

/** This process's peak resident set (MiB), from /proc/self/status. */
function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, strict: true, options: { engine: { type: "string" }, repo: { type: "string" }, "password-file": { type: "string" }, side: { type: "string" }, qubes: { type: "string" }, format: { type: "string" } } });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals: [cmd, snapshot] } = parsed;
  if (!v.engine || !v.repo || !v["password-file"] || (cmd !== "ingest" && cmd !== "dump") || (cmd === "dump" && !snapshot)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const engine = openEngine({ engine: v.engine as EngineKind, location: v.repo, passwordFile: v["password-file"] });
  if (cmd === "ingest") {
    const r = await ingest(process.stdin, engine, { format: v.format === "1" ? 1 : 2 });
    const qubeBytes = Object.fromEntries(r.qubes.map((q) => [q.name, q.files.reduce((a, f) => a + f.streamBytes, 0)]));
    process.stdout.write(`${JSON.stringify({ ...r, header: undefined, qubes: undefined, qubeBytes, peakRssMiB: peakRssMiB() })}\n`);
  } else {
    process.stdout.on("error", () => {});
    const r = await dump(engine, snapshot!, process.stdout, { sideSnapshotId: v.side, qubes: v.qubes?.split(",") });
    const line = `${JSON.stringify({ ...r, peakRssMiB: peakRssMiB() })}\n`;
    process.stderr.write(line);
    if (process.env.PIPELINE_CLI_LOG) fs.appendFileSync(process.env.PIPELINE_CLI_LOG, line);
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    process.stderr.write(`pipeline-cli: ${e.message}\n`);
    process.exitCode = 1;
  },
);
