// Input refused when it is given, with a sentence, before anything runs:
// a password file others can read, a restore of a snapshot nobody has (never
// reaching dom0's confirmation), a share of the data above 100%, a schedule
// firing every minute; and a connection test to a server that never
// answers ends in bounded time, naming the cause, its password file removed.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processesMentioning } from "@qubes-dedup/qubes-sim/testing";
import { addRepository, readDataSubsetSchema, requestRestore, runMaintenance, scheduleInput, ServiceError, testConnection } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";

afterAll(removeTemplate);

describe("input refused at once", () => {
  it("repo add refuses a password file readable by group or others, naming the mode and the chmod", async () => {
    const db = await tempDatabase();
    const pw = path.join(db.dir, "pw");
    fs.writeFileSync(pw, "a repository password\n", { mode: 0o644 });
    fs.chmodSync(pw, 0o644);
    await expect(addRepository(db, { name: "default", engine: "restic", location: path.join(db.dir, "repo"), passwordFile: pw })).rejects.toThrow(
      new ServiceError(`the password file ${pw} is readable by group or others (mode 0644); make it owner-only with \`chmod 600 ${pw}\` and add the repository again.`),
    );
    expect(fs.existsSync(path.join(db.dir, "repo"))).toBe(false);
    await db.close();
  }, 60_000);

  it("a restore request for a snapshot that neither the index nor the repository knows is refused before qrexec is called", async () => {
    const db = await tempDatabase();
    const pw = path.join(db.dir, "pw");
    fs.writeFileSync(pw, "a repository password\n", { mode: 0o600 });
    const location = path.join(db.dir, "repo");
    await addRepository(db, { name: "default", engine: "restic", location, passwordFile: pw });
    const called = path.join(db.dir, "qrexec-called");
    const client = path.join(db.dir, "qrexec-client-vm");
    fs.writeFileSync(client, `#!/bin/sh\ntouch ${called}\n`, { mode: 0o755 });
    const saved = process.env.QUBES_DEDUP_QREXEC_CLIENT;
    process.env.QUBES_DEDUP_QREXEC_CLIENT = client;
    try {
      await expect(requestRestore(db, { repository: "default", snapshot: "deadbeef" })).rejects.toThrow(
        new ServiceError(`there is no backup "deadbeef" in ${location}; give the id of one, or a unique start of it (4 characters or more), or latest (see qubes-dedup snapshots); nothing was asked of dom0.`),
      );
    } finally {
      process.env.QUBES_DEDUP_QREXEC_CLIENT = saved;
    }
    expect(fs.existsSync(called)).toBe(false);
    expect(await db.prisma.job.count()).toBe(0);
    await db.close();
  }, 60_000);

  it("readDataSubset: a share above 100%, 0% or a fraction past its whole is refused with the range; 5%, 100% and 1/10 pass", async () => {
    const message = (v: string) => { const r = readDataSubsetSchema.safeParse(v); return r.success ? "ok" : r.error.issues[0]!.message; };
    expect(["500%", "0%", "0/10", "11/10", "5%", "100%", "1/10", "all"].map(message)).toEqual([
      '"500%" is not a share of the data: give a percentage above 0% and at most 100%, like "5%"',
      '"0%" is not a share of the data: give a percentage above 0% and at most 100%, like "5%"',
      '"0/10" is not a part of the data: give n/t with n from 1 to t, like "1/10"',
      '"11/10" is not a part of the data: give n/t with n from 1 to t, like "1/10"',
      "ok", "ok", "ok",
      'give a percentage like "5%" or a fraction like "1/10"',
    ]);
    const db = await tempDatabase();
    const repo = await db.prisma.repository.create({ data: { name: "default", engine: "restic", location: "/nonexistent", passwordFile: "/nonexistent" } });
    await expect(runMaintenance(db, { repositoryId: repo.id, kind: "check", readDataSubset: "500%" })).rejects.toThrow(
      new ServiceError('"500%" is not a share of the data: give a percentage above 0% and at most 100%, like "5%"; nothing was run.'),
    );
    expect(await db.prisma.maintenanceRun.count()).toBe(0);
    await db.close();
  }, 60_000);

  it("a schedule that fires more often than once an hour is refused, naming how often", () => {
    const problem = (cron: string) => { const r = scheduleInput.safeParse({ repositoryId: 1, kind: "check", cron }); return r.success ? "ok" : r.error.issues[0]!.message; };
    expect(["* * * * *", "*/5 * * * *", "0,30 * * * *", "0 * * * *", "0 3 * * *"].map(problem)).toEqual([
      '"* * * * *" runs every 1 minute, more often than once an hour: a check run takes minutes, so give at most one run an hour, e.g. "0 3 * * *"',
      '"*/5 * * * *" runs every 5 minutes, more often than once an hour: a check run takes minutes, so give at most one run an hour, e.g. "0 3 * * *"',
      '"0,30 * * * *" runs every 30 minutes, more often than once an hour: a check run takes minutes, so give at most one run an hour, e.g. "0 3 * * *"',
      "ok",
      "ok",
    ]);
  });
});

describe("test connection to a server that accepts and never answers", () => {
  it.each(["restic", "borg"] as const)("%s: ends after the limit naming the server, and leaves no password file", async (engine) => {
    const silent = net.createServer(() => {}); // accepts, says nothing: ssh waits for a banner forever
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    const location = engine === "restic" ? `sftp://nobody@127.0.0.1:${port}/repo` : `ssh://nobody@127.0.0.1:${port}/repo`;
    const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("qdd-test-"));
    try {
      const r = await testConnection({ name: "remote", engine, location, password: "a long enough password" }, { timeoutSeconds: 3 });
      expect(r).toEqual({
        ok: false,
        initialised: false,
        message: `${engine} got no answer from the server ${engine === "restic" ? "sftp" : "ssh"}://127.0.0.1:${port} of the repository ${location} within 3 seconds (it is unreachable or not answering); check that the server is up and the location is right, then try again.`,
      });
    } finally {
      silent.close();
    }
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("qdd-test-"))).toEqual(before);
    // and no engine or ssh process is left waiting for the server
    expect(processesMentioning(`127.0.0.1:${port}`).concat(processesMentioning(`-p\0${port}`))).toEqual([]);
  }, 60_000);
});
