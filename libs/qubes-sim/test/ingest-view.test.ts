// What the product's stream parser (libs/pipeline's BackupStreamParser, the core
// of `ingest`) makes of streams the simulator now writes as qubesd does
// (issue 17): hand-run compressed backups and chunks a failing shim damaged.
// The chunks go through the real shim (run from source), with MAC trailers.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem, runBackup, type QubeSpec } from "../src/index.ts";
import { HERE } from "./helpers.ts";
import { tmpDir } from "../src/testing/index.ts";

const KiB = 1024;
const SHIM_DIR = path.join(HERE, "fixtures", "failing-shim");
const PROJECT_PASS = `qubes-dedup-v1-${"5a".repeat(32)}`;
const QUBES: QubeSpec[] = [{ name: "solo", klass: "StandaloneVM", privateSize: 512 * KiB, rootSize: 64 * KiB }];

interface Analyzer {
  write(b: Uint8Array): void;
  end(): void;
  warnings: string[];
}

/**
 * The pipeline is imported at run time by path: it depends on this package
 * for its own tests, and a static import would make the project graph cyclic.
 */
async function analyze(file: string): Promise<string[]> {
  const entry = path.join(HERE, "../../pipeline/src/index.ts");
  const p = (await import(entry)) as { BackupStreamParser: new (layout: undefined, trailer: unknown) => Analyzer; SHIM_TRAILER: unknown };
  const a = new p.BackupStreamParser(undefined, p.SHIM_TRAILER);
  for await (const c of fs.createReadStream(file)) a.write(c as Buffer);
  a.end();
  return a.warnings;
}

async function shimBackup(extra: NodeJS.ProcessEnv, o: { compress?: boolean } = {}): Promise<{ file: string; logged: string[] }> {
  const root = path.join(tmpDir("sys"), "root");
  createSystem(root, { seed: "ingest-view", qubes: QUBES });
  const out = tmpDir("out");
  const logged: string[] = [];
  const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}`, ...extra };
  await runBackup({ root, passphrase: PROJECT_PASS, location: out, destVm: "backup", env, exclude: ["dom0"], chunkSize: 64 * KiB, compress: o.compress, log: (l) => logged.push(l) });
  return { file: path.join(out, fs.readdirSync(out)[0]!), logged };
}

describe("ingest's view of qubesd-like streams", () => {
  it("a sound shim stream analyses without warnings (control)", { timeout: 120_000 }, async () => {
    const { file, logged } = await shimBackup({});
    expect(logged).toEqual([]);
    expect(await analyze(file)).toEqual([]);
  });

  it("a hand-run qvm-backup without --no-compress is accepted with the compression warning", { timeout: 120_000 }, async () => {
    const { file } = await shimBackup({}, { compress: true });
    expect(await analyze(file)).toContainEqual(expect.stringMatching(/^the backup is compressed \(gzip\), so it will deduplicate poorly; run qvm-backup with --no-compress\.$/));
  });

  // A shim failing on one chunk: qubesd logs the exit status and sends the
  // file. The stream's other chunks carry trailers, so ingest refuses the
  // stream, naming the broken chunk (libs/pipeline stream/parser.ts).
  for (const mode of ["empty", "no-trailer", "half-trailer"]) {
    it(`a chunk the shim left ${mode} is refused, naming the chunk`, { timeout: 120_000 }, async () => {
      const { file, logged } = await shimBackup({ FAIL_CHUNK: "vm1/private.img.002.enc", FAIL_MODE: mode });
      expect(logged).toEqual([expect.stringContaining("scrypt return code: 1 for vm1/private.img.002.enc")]);
      const refused = await analyze(file).then(() => new Error("accepted"), (e: Error) => e);
      expect(refused.name).toBe("IngestError");
      expect(refused.message).toBe(
        "the chunk vm1/private.img.002.enc carries no valid qubes-dedup MAC trailer although the stream before it does, so the shim failed on it in dom0; the backup was not stored, run it again.",
      );
    });
  }
});
