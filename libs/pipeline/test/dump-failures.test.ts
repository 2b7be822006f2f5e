// How a dump ends when something other than the repository's data fails, against
// real restic and borg: a failing output is an error (not a normal end), a dump
// cut short by its reader leaves no lock behind, a damaged repository shows the
// engine's own words. (Found in a user trial.)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { DumpError, dump, ingest, type Engine, type EngineKind } from "../src/index.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { resticLocks, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { fileStream, freshRepo } from "./helpers/repo.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(here, "../../../node_modules/.bin/tsx");
const DUMP_CLI = path.join(here, "helpers/dump-cli.ts");

/**
 * Who holds a local borg repository: the entries of lock.exclusive/ and of
 * lock.roster's lists. A roster with empty lists is no lock (borg 1.2 leaves
 * `{"shared": []}` when a SIGTERM lands between its last release and the
 * roster's removal; the next borg takes the repository as free).
 */
function borgLocks(location: string): string[] {
  const dir = path.join(location, "lock.exclusive");
  const exclusive = fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => `lock.exclusive/${n}`) : [];
  const rosterFile = path.join(location, "lock.roster");
  const roster = fs.existsSync(rosterFile) ? (JSON.parse(fs.readFileSync(rosterFile, "utf8")) as Record<string, unknown[]>) : {};
  return [...exclusive, ...Object.entries(roster).flatMap(([kind, holders]) => holders.map((h) => `roster ${kind}: ${JSON.stringify(h)}`))];
}

/** Runs the dump helper as a real process in a shell pipeline: `<dump> <tail>`. */
function shellDump(engine: Engine, ref: string, tail: string) {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const cmd = [TSX, DUMP_CLI, engine.kind, engine.repo.location, engine.repo.passwordFile, ref].map(q).join(" ");
  return execa("sh", ["-c", `${cmd} ${tail}`], { reject: false });
}

const streamFile = makeStream(tmpDir("pipeline"), { qubes: smallSystem("dump-failures", 3 << 20), chunkSize: 1 << 20 });

describe.each(["restic", "borg"] as EngineKind[])("%s", (kind) => {
  let engine: Engine;
  let snapshotId: string;
  beforeAll(async () => {
    ({ engine } = await freshRepo(kind));
    snapshotId = (await ingest(fileStream(streamFile), engine)).snapshotId;
  }, 60_000);

  it("fails a dump whose output fails (ENOSPC), in process and as a command", async () => {
    const err = await dump(engine, snapshotId, fs.createWriteStream("/dev/full")).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toBe("writing the stream failed after 0 bytes (ENOSPC): the output is incomplete; free space on it or write elsewhere, then dump again.");
    const r = await shellDump(engine, snapshotId, "> /dev/full");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("DumpError: writing the stream failed after 0 bytes (ENOSPC): the output is incomplete;");
  }, 60_000);

  it("leaves no lock after dumps cut short by their reader (| head -c 100)", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await shellDump(engine, snapshotId, "| head -c 100 | wc -c");
      expect(r.stdout.trim()).toBe("100");
      expect(r.stderr).toMatch(/^dumped \d+$/);
    }
    if (kind === "restic") {
      expect(resticLocks(engine.repo)).toEqual([]);
    } else {
      expect(borgLocks(engine.repo.location)).toEqual([]);
    }
    await engine.check();
  }, 90_000);

  it("quotes the engine when a damaged repository breaks a dump", async () => {
    const { engine: e, dir } = await freshRepo(kind);
    const id = (await ingest(fileStream(streamFile), e)).snapshotId;
    const files = fs.readdirSync(path.join(e.repo.location, "data"), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const biggest = files.map((f) => path.join(f.parentPath, f.name)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
    fs.chmodSync(biggest, 0o600);
    const fd = fs.openSync(biggest, "r+");
    const bytes = Buffer.alloc(4096);
    fs.readSync(fd, bytes, 0, bytes.length, 8192);
    fs.writeSync(fd, bytes.map((b) => b ^ 0xff), 0, bytes.length, 8192);
    fs.closeSync(fd);
    const err = await dump(e, id, fs.createWriteStream(path.join(dir, "out"))).catch((x) => x);
    expect(err).toBeInstanceOf(DumpError);
    const check = kind === "restic" ? `restic -r ${e.repo.location} check --read-data` : `borg check --verify-data ${e.repo.location}`;
    expect(err.message).toMatch(new RegExp(`^${kind} could not read snapshot ${id} \\((.+)\\): the \\d+ bytes written so far are an incomplete stream; \`${check.replace(/[/.-]/g, "\\$&")}\` shows what is damaged\\.$`));
    if (kind === "restic") expect(err.message).toContain("ciphertext verification failed");
    else expect(err.message).toMatch(/integrity|checksum|mismatch|corrupt/i);
  }, 60_000);
});
