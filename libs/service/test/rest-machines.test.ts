// Many machines, one repository, over restic's own rest-server: two
// simulated machines (two dom0 roots, two backup qubes with their own index
// dbs and machine names) with the same template back up into one REST
// repository. Each lists only its own backups, and what they share
// deduplicates across them: the second machine adds at most 2 % of the
// template's size (restic's own data_added).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addQube, createSystem, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, restServerBinary, startRestServer, tmpDir, type RestResticServer } from "@qubes-dedup/qubes-sim/testing";
import { addRepositoryFromDashboard, listSnapshots, reindex, runBackup, runDump } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";
import { hashingSink } from "./helpers/server-cuts.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
const PASS = `qubes-dedup-v1-${"5a".repeat(32)}`;
const USERS = { alice: "alice's server password" };
const MACHINES = ["laptop", "office"] as const;
/** The template both machines have, byte for byte (same content seed): what they share. */
const TEMPLATE: QubeSpec = { name: "debian-12", klass: "TemplateVM", rootSize: 12 * MiB, privateSize: 2 * MiB, pool: "file" };

const server = restServerBinary();
// as rest-server.test.ts: in the engine tier (QUBES_DEDUP_SERVER_TESTS=1), on restic 0.18.0 and rest-server 0.13.0
const skip = process.env.QUBES_DEDUP_SERVER_TESTS !== "1"
  ? "the server tests run in the engine tier (QUBES_DEDUP_SERVER_TESTS=1 runs them here)"
  : server.missing;

let work: string;
let streams: Record<(typeof MACHINES)[number], Awaited<ReturnType<typeof makeBackupStreamFile>>>;
beforeAll(async () => {
  if (skip) return;
  work = tmpDir("rest-machines");
  const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` };
  const machine = async (name: string) => {
    // each machine: its own dom0 (home), the shared template, and an AppVM of its own
    const root = path.join(work, `dom0-${name}`);
    createSystem(root, { seed: `dom0-${name}`, qubes: [] });
    addQube(root, TEMPLATE, "shared-template");
    addQube(root, { name: "work", klass: "AppVM", template: TEMPLATE.name, privateSize: 64 * 1024 }, `work-${name}`);
    return makeBackupStreamFile(work, { seed: name, root, chunkSize: MiB, passphrase: PASS, env });
  };
  streams = { laptop: await machine("laptop"), office: await machine("office") };
}, 120_000);
afterAll(async () => {
  delete process.env.QUBES_DEDUP_CACHE_DIR;
  await removeTemplate();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!!skip)(`two machines, one rest-server repository (${skip ? `skipped: ${skip}` : server.bin})`, () => {
  let rest: RestResticServer | undefined;
  const dbs: Awaited<ReturnType<typeof tempDatabase>>[] = [];
  afterAll(async () => {
    await rest?.stop();
    for (const db of dbs) {
      await db.close();
      fs.rmSync(db.dir, { recursive: true, force: true });
    }
  });

  it("each machine lists only its own backups; the second machine's backup of the same template adds at most 2 % of its size", { timeout: 300_000 }, async () => {
    const dir = path.join(work, "server");
    rest = await startRestServer({ dataDir: path.join(dir, "data"), configDir: path.join(dir, "config"), mode: "plain", users: USERS, bin: server.bin! });
    const location = rest.location("alice", "alice");
    const caCert = fs.readFileSync(rest.caCert, "utf8");
    const db = {} as Record<(typeof MACHINES)[number] | "fresh", Awaited<ReturnType<typeof tempDatabase>>>;
    for (const m of [...MACHINES, "fresh"] as const) {
      db[m] = await tempDatabase();
      dbs.push(db[m]);
      const machine = m === "fresh" ? "office" : m;
      await addRepositoryFromDashboard(db[m], { name: "shared", engine: "restic", location, password: "shared repository password", caCert, machine }, path.join(db[m].dir, "secrets"));
    }
    // each backup qube keeps its own restic cache, next to its index db
    const on = (m: keyof typeof db) => (process.env.QUBES_DEDUP_CACHE_DIR = path.join(db[m].dir, "cache"));
    on("laptop");
    const laptop = await runBackup(db.laptop, { repository: "shared", input: fs.createReadStream(streams.laptop.file) });
    on("office");
    const office = await runBackup(db.office, { repository: "shared", input: fs.createReadStream(streams.office.file) });
    // the template's size: its files' bytes in the backup stream (its volumes' data, sparse holes left out as qubesd's tar leaves them)
    const templateBytes = laptop.ingest.qubes.find((q) => q.name === TEMPLATE.name)!.files.reduce((a, f) => a + f.streamBytes, 0);
    const added = office.ingest.addedBytes;
    process.stdout.write(
      `two machines, one repository: template ${templateBytes} bytes in the stream; laptop's first backup (stream ${streams.laptop.bytes} bytes) added ${laptop.ingest.addedBytes} bytes, ` +
        `office's (stream ${streams.office.bytes} bytes, same template) added ${added} bytes = ${((100 * added) / templateBytes).toFixed(2)} % of the template ` +
        `(repository ${laptop.repositoryBytes} → ${office.repositoryBytes} bytes)\n`,
    );
    expect(laptop.ingest.addedBytes).toBeGreaterThan(0.9 * templateBytes);
    expect(added).toBeLessThanOrEqual(0.02 * templateBytes);

    const ids = async (m: keyof typeof db) => (await listSnapshots(db[m], "shared")).map((s) => s.engineSnapshotId);
    expect(await ids("laptop")).toEqual([laptop.ingest.snapshotId]);
    expect(await ids("office")).toEqual([office.ingest.snapshotId]);
    // a fresh backup qube of the office rebuilds the office's list only, and restores its backup byte for byte
    on("fresh");
    expect(await reindex(db.fresh, "shared")).toMatchObject({ added: 1, kept: 0, removed: 0, incomplete: [], failed: [] });
    expect(await ids("fresh")).toEqual([office.ingest.snapshotId]);
    const sink = hashingSink();
    await runDump(db.fresh, { repository: "shared", snapshot: "latest", output: sink });
    expect({ bytes: sink.bytes(), sha256: sink.digest() }).toEqual({ bytes: streams.office.bytes, sha256: streams.office.sha256 });
  });
});
