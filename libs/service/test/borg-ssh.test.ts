import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, sshdMissing, startSshd, tmpDir, type TestSshd } from "@qubes-dedup/qubes-sim/testing";
import { engineBinary, incompleteRunsOf } from "@qubes-dedup/pipeline";
import { addRepositoryFromDashboard, applyRetention, engineFor, getRepository, runBackup, runDump } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";
import { cutAtHalf, hashingSink } from "./helpers/server-cuts.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
// ~10 MiB of stream, so that a server killed half-way really cuts a backup short
const QUBES: QubeSpec[] = [{ name: "work", klass: "StandaloneVM", rootSize: 5 * MiB, privateSize: 5 * MiB }];
const PASS = `qubes-dedup-v1-${"ab".repeat(32)}`;
/** seconds the server may stay silent before a backup or a dump fails (the product's default is 60) */
const BACKEND_S = 3;

// The server tests run in the engine tier only (tools/test-engines.sh sets QUBES_DEDUP_SERVER_TESTS=1).
const skip = process.env.QUBES_DEDUP_SERVER_TESTS !== "1" ? "the server tests run in the engine tier (QUBES_DEDUP_SERVER_TESTS=1 runs them here)" : sshdMissing();

/** The absolute path of the borg the tests run, for the server's forced command. */
function borgPath(): string {
  const b = engineBinary("borg");
  return b.includes("/") ? b : execFileSync("sh", ["-c", `command -v ${b}`], { encoding: "utf8" }).trim();
}



describe.skipIf(!!skip)(`borg over SSH, restricted to borg serve --append-only (${skip ? `skipped: ${skip}` : "sshd on 127.0.0.1"})`, () => {
  let work: string;
  let sshd: TestSshd;
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  let stream: Awaited<ReturnType<typeof makeBackupStreamFile>>;
  const rshBefore = process.env.BORG_RSH;
  beforeAll(async () => {
    work = tmpDir("borg-ssh");
    const repos = path.join(work, "server-repos");
    fs.mkdirSync(repos);
    sshd = await startSshd(path.join(work, "sshd"), `${borgPath()} serve --append-only --restrict-to-path ${repos}`);
    // the backup qube's ssh setup (~/.ssh/config in the product): key, port and host key
    process.env.BORG_RSH = sshd.rsh;
    db = await tempDatabase();
    stream = await makeBackupStreamFile(work, { seed: "borg-ssh", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env: { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` } });
  }, 120_000);
  afterAll(async () => {
    if (rshBefore === undefined) delete process.env.BORG_RSH;
    else process.env.BORG_RSH = rshBefore;
    await sshd?.stop();
    await db?.close();
    await removeTemplate();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("is added from the dashboard as append-only, backs up and dumps byte-identical; a killed server fails a backup, a silent one a dump, and the next runs work; retention is refused", { timeout: 300_000 }, async () => {
    const location = sshd.location(path.join(work, "server-repos", "office"));
    // outside --restrict-to-path the server refuses
    const outside = await addRepositoryFromDashboard(db, { name: "elsewhere", engine: "borg", location: sshd.location(path.join(work, "elsewhere")), password: "office password", appendOnly: true }, path.join(db.dir, "secrets")).then(() => "added", (e: Error) => e.message);
    expect(outside).toContain(`Repository path not allowed: ${path.join(work, "elsewhere")}`);
    const added = await addRepositoryFromDashboard(db, { name: "office", engine: "borg", location, password: "office password", appendOnly: true }, path.join(db.dir, "secrets"));
    expect(added.appendOnly).toBe(true);
    const repo = await getRepository(db, "office");

    const backup = (input: Readable) => runBackup(db, { repository: "office", input, backendTimeoutSeconds: BACKEND_S });
    const first = await backup(fs.createReadStream(stream.file));
    expect(first.ingest.streamSha256).toBe(stream.sha256);
    const sink = hashingSink();
    await runDump(db, { repository: "office", snapshot: first.ingest.snapshotId, output: sink });
    expect({ bytes: sink.bytes(), sha256: sink.digest() }).toEqual({ bytes: stream.bytes, sha256: stream.sha256 });

    // the server (sshd and borg serve) is killed half-way through a backup
    const cut = await backup(cutAtHalf(stream.file, stream.bytes, () => sshd.stop())).then(() => "stored", (e: Error) => e.message);
    const lost = `borg lost the server ssh://127.0.0.1:${sshd.port} of the repository ${location}: it went away or stopped answering; bring the server back and run it again (nothing incomplete is kept).`;
    // the engine that notices first says it: the one whose connection broke, or one that found no server
    expect([lost, `borg cannot reach the server ssh://127.0.0.1:${sshd.port} of the repository ${location} (Remote: ssh: connect to host 127.0.0.1 port ${sshd.port}: Connection refused); start the server or fix the location, then try again.`]).toContain(cut);
    await sshd.restart();
    const third = await backup(fs.createReadStream(stream.file));
    expect(third.ingest.streamSha256).toBe(stream.sha256);
    expect(third.ingest.addedBytes).toBeLessThan(stream.bytes / 10);
    expect((await db.prisma.snapshot.findMany()).map((r) => r.engineSnapshotId)).toEqual([first.ingest.snapshotId, third.ingest.snapshotId]);
    const listing = await engineFor(repo).snapshots();
    expect(incompleteRunsOf(listing)).toEqual([]);

    // the server stops answering at the dump's first bytes (which come from the kept side record, before
    // any data part's borg connects): ssh's keep-alives end a connection that is up, its ConnectTimeout
    // one that the frozen server accepted but never greets
    const silent = await runDump(db, { repository: "office", snapshot: third.ingest.snapshotId, output: hashingSink(() => sshd.freeze()), backendTimeoutSeconds: BACKEND_S }).then(() => "complete", (e: Error) => e.message);
    expect(silent).toBe(lost);
    await sshd.restart();
    const again = hashingSink();
    await runDump(db, { repository: "office", snapshot: third.ingest.snapshotId, output: again });
    expect({ bytes: again.bytes(), sha256: again.digest() }).toEqual({ bytes: stream.bytes, sha256: stream.sha256 });

    const refused = await applyRetention(db, "office", { keepLast: 1 }).then(() => "applied", (e: Error) => e.message);
    expect(refused).toBe(`the borg repository ${location} is append-only (its server refuses deletions), so this machine cannot forget snapshots and nothing was deleted; run retention on the server with its administrator's credentials (docs/INSTALL-QUBES.md, section 3.5).`);
    expect((await engineFor(repo).snapshots()).map((s) => s.id)).toEqual(listing.map((s) => s.id));
  });
});
