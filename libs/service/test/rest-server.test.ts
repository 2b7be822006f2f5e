import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, restServerBinary, startRestServer, tmpDir, type RestResticServer, type RestServerMode } from "@qubes-dedup/qubes-sim/testing";
import { incompleteRunsOf } from "@qubes-dedup/pipeline";
import { addRepositoryFromDashboard, applyRetention, engineFor, getRepository, runBackup, runDump } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";
import { cutAtHalf, hashingSink } from "./helpers/server-cuts.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
// ~10 MiB of stream: more than restic holds in one pack or reads ahead, so a
// server killed half-way through really cuts a backup or a dump short
const QUBES: QubeSpec[] = [{ name: "work", klass: "StandaloneVM", rootSize: 5 * MiB, privateSize: 5 * MiB }];
const PASS = `qubes-dedup-v1-${"ef".repeat(32)}`;
/** seconds restic may keep retrying a killed server before the run fails (the product's default is 60) */
const BACKEND_S = 3;
const USERS = { alice: "alice's server password", bob: "bob's server password" };

const server = restServerBinary();
// ~2 min (3 min on restic 0.18 under load): the server tests run in the engine
// tier (tools/test-engines.sh sets QUBES_DEDUP_SERVER_TESTS=1), once, on the
// versions Debian 13 ships together (restic 0.18.0, rest-server 0.13.0)
const skip = process.env.QUBES_DEDUP_SERVER_TESTS !== "1"
  ? "the server tests run in the engine tier (QUBES_DEDUP_SERVER_TESTS=1 runs them here)"
  : server.missing;
let stream: Awaited<ReturnType<typeof makeBackupStreamFile>>;
let work: string;
beforeAll(async () => {
  if (skip) return;
  work = tmpDir("rest-server");
  stream = await makeBackupStreamFile(work, { seed: "rest-server", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env: { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` } });
}, 120_000);
afterAll(async () => {
  delete process.env.QUBES_DEDUP_CACHE_DIR;
  await removeTemplate();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});



describe.skipIf(!!skip)(`restic's rest-server over TLS with htpasswd users (${skip ? `skipped: ${skip}` : server.bin})`, () => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  let rest: RestResticServer | undefined;
  afterEach(async () => {
    await rest?.stop();
    await db?.close();
    if (db) fs.rmSync(db.dir, { recursive: true, force: true });
  });

  const modes: RestServerMode[] = ["plain", "append-only", "private-repos"];
  it.each(modes)("%s: added from the dashboard, backs up and dumps byte-identical; a server killed in a backup or a dump fails it, the next run works and deduplicates", { timeout: 300_000 }, async (mode) => {
    db = await tempDatabase();
    // restic's cache for this remote repository (the product's: next to the index db)
    const cacheDir = path.join(db.dir, "cache");
    process.env.QUBES_DEDUP_CACHE_DIR = cacheDir;
    const dir = path.join(db.dir, "server");
    rest = await startRestServer({ dataDir: path.join(dir, "data"), configDir: path.join(dir, "config"), mode, users: USERS, bin: server.bin! });
    const s = rest;
    const location = s.location("alice", "alice");

    // without the CA the dashboard says what is missing; with it the repository is added
    const noCa = await addRepositoryFromDashboard(db, { name: "office", engine: "restic", location, password: "office password" }, path.join(db.dir, "secrets")).catch((e: Error) => e.message);
    expect(noCa).toBe(`The REST server at https://127.0.0.1:${s.port}/alice/ has a certificate this machine does not trust (DEPTH_ZERO_SELF_SIGNED_CERT): give its CA certificate (the server's own certificate when it is self-signed).`);
    const added = await addRepositoryFromDashboard(db, { name: "office", engine: "restic", location, password: "office password", caCert: fs.readFileSync(s.caCert, "utf8") }, path.join(db.dir, "secrets"));
    expect(added.appendOnly).toBe(mode === "append-only");
    const repo = await getRepository(db, "office");
    expect(repo.caCertFile).toBe(path.join(db.dir, "secrets", "office.ca.pem"));
    expect(fs.statSync(repo.caCertFile!).mode & 0o777).toBe(0o600);

    const backup = (input: Readable) => runBackup(db, { repository: "office", input, backendTimeoutSeconds: BACKEND_S });
    const first = await backup(fs.createReadStream(stream.file));
    expect(first.ingest.streamSha256).toBe(stream.sha256);
    const sink = hashingSink();
    await runDump(db, { repository: "office", snapshot: first.ingest.snapshotId, output: sink });
    expect({ bytes: sink.bytes(), sha256: sink.digest() }).toEqual({ bytes: stream.bytes, sha256: stream.sha256 });

    // the server dies half-way through a backup
    const cut = await backup(cutAtHalf(stream.file, stream.bytes, () => s.stop())).then(() => "stored", (e: Error) => e.message);
    expect(cut).toMatch(new RegExp(`^restic (lost|cannot reach) the server https://127\\.0\\.0\\.1:${s.port} of the repository `));
    expect(cut).not.toContain(USERS.alice);
    await s.restart();
    const third = await backup(fs.createReadStream(stream.file));
    expect(third.ingest.streamSha256).toBe(stream.sha256);
    expect(third.ingest.addedBytes).toBeLessThan(stream.bytes / 10);
    expect((await db.prisma.snapshot.findMany()).map((r) => r.engineSnapshotId)).toEqual([first.ingest.snapshotId, third.ingest.snapshotId]);
    const listing = await engineFor(repo).snapshots();
    expect(incompleteRunsOf(listing)).toEqual([]);
    // the runs kept the index and trees of this one repository in the cache
    expect(fs.readdirSync(cacheDir).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(1);

    // the server dies at the dump's first bytes
    const cutDump = await runDump(db, { repository: "office", snapshot: third.ingest.snapshotId, output: hashingSink(() => s.stop()), backendTimeoutSeconds: BACKEND_S }).then(() => "complete", (e: Error) => e.message);
    expect(cutDump).toMatch(new RegExp(`^restic lost the server https://127\\.0\\.0\\.1:${s.port} of the repository .* during the restore: its downloads kept failing for ${BACKEND_S} seconds`));
    await s.restart();
    const again = hashingSink();
    await runDump(db, { repository: "office", snapshot: third.ingest.snapshotId, output: again });
    expect({ bytes: again.bytes(), sha256: again.digest() }).toEqual({ bytes: stream.bytes, sha256: stream.sha256 });

    if (mode === "append-only") {
      // retention is refused before anything is asked of the server; both backups stay
      const refused = await applyRetention(db, "office", { keepLast: 1 }).then(() => "applied", (e: Error) => e.message);
      expect(refused).toBe(`the restic repository rest:https://alice:***@127.0.0.1:${s.port}/alice/ is append-only (its server refuses deletions), so this machine cannot forget snapshots and nothing was deleted; run retention on the server with its administrator's credentials (docs/INSTALL-QUBES.md, section 3.5).`);
      const prune = await engineFor(repo).prune().then(() => "pruned", (e: Error) => e.message);
      expect(prune).toBe(refused.replace("cannot forget", "cannot prune"));
      expect((await engineFor(repo).snapshots()).length).toBe(listing.length);
    }
    if (mode === "private-repos") {
      // bob cannot open alice's repository, even with its password
      const bob = await addRepositoryFromDashboard(db, { name: "bobs", engine: "restic", location: s.location("bob", "alice"), password: "office password", caCert: fs.readFileSync(s.caCert, "utf8") }, path.join(db.dir, "secrets")).then(() => "added", (e: Error) => e.message);
      expect(bob).toMatch(/401 Unauthorized/);
    }
  });
});
