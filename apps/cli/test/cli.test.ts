import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Libsql from "libsql";
import { beforeAll, describe, expect, it } from "vitest";
import { engineBinary } from "@qubes-dedup/pipeline";
import { resticLocks, resticSnapshotIds, splitOuterStream } from "@qubes-dedup/qubes-sim/testing";
import { CLI, NODE, cli, makeStream, resticRepo, scratch, type Scratch } from "./harness.ts";

async function addRepo(s: Scratch) {
  const r = await cli(s, ["repo", "add", "default", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile]);
  expect(r.stderr).toContain('repository "default" (restic)');
  expect(r.status).toBe(0);
}

/** The processes below `pid` (engines run under the engine guard, a python3 child of ours). */
function below(pid: number | string): string[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const kids = tasks.flatMap((t) => { try { return fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean); } catch { return []; } });
  return kids.flatMap((k) => [k, ...below(k)]);
}

/** Waits until process `pid` has a descendant named `name` (polls /proc every 10 ms, up to 30 s). */
async function waitForChild(pid: number, name: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const kids = below(pid);
    if (kids.some((k) => { try { return fs.readFileSync(`/proc/${k}/comm`, "utf8").trim() === name; } catch { return false; } })) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${name} process under ${pid} after 30 s`);
}

function jobs(s: Scratch): { kind: string; status: string; error: string | null }[] {
  const db = new Libsql(s.db, { readonly: true });
  try {
    return db.prepare("SELECT kind, status, error FROM Job ORDER BY id").all() as { kind: string; status: string; error: string | null }[];
  } finally {
    db.close();
  }
}

describe("qubes-dedup usage errors exit 2 with the usage text", () => {
  const s = scratch();
  it.each([
    [[], "usage: qubes-dedup"],
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["snapshots", "--bogus"], "Unknown option '--bogus'"],
    [["dump"], "dump takes exactly one <snapshot>"],
    [["dump", "a", "b"], "dump takes exactly one <snapshot>"],
    [["repo"], "repo needs a command"],
    [["repo", "add", "x"], "repo add needs --engine, --location and --password-file"],
    [["ingest", "extra"], "ingest takes no arguments"],
  ])("%j", async (args, text) => {
    const r = await cli(s, args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(text);
    expect(r.stderr).toContain("usage: qubes-dedup <command>");
  });

  it("--help prints the usage on stdout and exits 0", async () => {
    const r = await cli(s, ["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain("ingest [--repo NAME]");
  });
});

describe("qubes-dedup web-token", () => {
  it("creates the token once (0600 next to the db), prints the same one again, and --rotate replaces it", async () => {
    const s = scratch();
    const a = await cli(s, ["web-token"]);
    expect(a.status).toBe(0);
    const token = a.stdout.toString().trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const file = path.join(s.dir, "web-token");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await cli(s, ["web-token"])).stdout.toString().trim()).toBe(token);
    const r = await cli(s, ["web-token", "--rotate"]);
    expect(r.status).toBe(0);
    const rotated = r.stdout.toString().trim();
    expect(rotated).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated).not.toBe(token);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(rotated);
  });
});

describe("qubes-dedup with a real restic repository", () => {
  let stream: { file: string; sha256: string };
  let s: Scratch;
  beforeAll(async () => {
    s = scratch();
    stream = makeStream(s.dir);
    await addRepo(s);
  }, 120_000);

  it("ingests a stream made by qvm-backup through the shim and dumps it back byte for byte", async () => {
    const r = await cli(s, ["ingest"], { inputFile: stream.file });
    expect(r.stderr).toMatch(/stored snapshot [0-9a-f]{64}: 3 qubes/);
    expect(r.status).toBe(0);
    const list = await cli(s, ["snapshots", "--json"]);
    const snaps = JSON.parse(list.stdout.toString()) as { id: string; logicalBytes: number; streamSha256: string; qubes: string[] }[];
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.logicalBytes).toBe(fs.statSync(stream.file).size);
    expect(snaps[0]!.streamSha256).toBe(stream.sha256);
    expect(snaps[0]!.qubes).toEqual(["dom0", "fedora-41", "work"]);
    expect(resticSnapshotIds(resticRepo(s))).toContain(snaps[0]!.id);
    const dump = await cli(s, ["dump", snaps[0]!.id.slice(0, 12)]);
    expect(dump.stderr).toBe("");
    expect(dump.status).toBe(0);
    expect(crypto.createHash("sha256").update(dump.stdout).digest("hex")).toBe(stream.sha256);
    expect(jobs(s).map((j) => `${j.kind}:${j.status}`)).toEqual(["backup:succeeded", "dump:succeeded"]);
  }, 120_000);

  it("dump --qubes writes the header files, qubes.xml and only those qubes' files; an unknown or invalid name is one sentence, exit 1", async () => {
    const [snap] = JSON.parse((await cli(s, ["snapshots", "--json"])).stdout.toString()) as { id: string }[];
    const one = await cli(s, ["dump", snap!.id.slice(0, 12), "--qubes", "work"]);
    expect(one.stderr).toBe("");
    expect(one.status).toBe(0);
    // member names of the outer tar archives, in order
    const names = splitOuterStream(one.stdout).map((m) => m.name);
    const whole = splitOuterStream(fs.readFileSync(stream.file)).map((m) => m.name);
    // one qube directory, the AppVM's (a private volume, no root), with all of its files
    const dirs = [...new Set(names.filter((n) => n.includes("/")).map((n) => n.split("/")[0]))];
    expect(dirs).toHaveLength(1);
    expect(names.some((n) => n.includes("/private.img."))).toBe(true);
    expect(names.some((n) => n.includes("/root.img."))).toBe(false);
    expect(names).toEqual(whole.filter((n) => !n.includes("/") || n.startsWith(`${dirs[0]}/`)));
    expect(names.slice(0, 3)).toEqual(["backup-header", "backup-header.hmac", "qubes.xml.000.enc"]);
    const unknown = await cli(s, ["dump", snap!.id.slice(0, 12), "--qubes", "work,mail"]);
    expect(unknown.stderr.toString()).toMatch(/^qubes-dedup: snapshot [0-9a-f]{64} holds no qube named "mail" \(it holds [a-z0-9, -]+\); name qubes from that list\.\n$/);
    expect(unknown.status).toBe(1);
    const bad = await cli(s, ["dump", snap!.id.slice(0, 12), "--qubes", "work,$(id)"]);
    expect(bad.stderr.toString()).toBe('qubes-dedup: qube name "$(id)" is not a valid qube name; use a letter followed by up to 30 letters, digits, "_", "." or "-" (not ending in "-dm", not "none", "default" or "Domain-0").\n');
    expect(bad.status).toBe(1);
    expect(bad.stdout.length).toBe(0);
  }, 120_000);

  it("rebuilds a lost index from the repository alone (repo add + reindex), and dump still checks the SHA-256", async () => {
    const fresh = { ...s, db: path.join(s.dir, "rebuilt.db") };
    fresh.env = { ...s.env, QUBES_DEDUP_DB: fresh.db };
    const original = JSON.parse((await cli(s, ["snapshots", "--json"])).stdout.toString()) as { id: string; logicalBytes: number; streamSha256: string; qubes: string[]; backupId: string }[];
    expect((await cli(fresh, ["repo", "add", "default", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile])).status).toBe(0);
    const r = await cli(fresh, ["reindex"]);
    expect(r.stderr).toBe(`qubes-dedup: index of "default" rebuilt from the repository: ${original.length} added, 0 already indexed, 0 removed (gone from the repository)\n`);
    expect(r.status).toBe(0);
    const rebuilt = JSON.parse((await cli(fresh, ["snapshots", "--json"])).stdout.toString()) as typeof original;
    expect(rebuilt.map(({ id, logicalBytes, streamSha256, qubes, backupId }) => ({ id, logicalBytes, streamSha256, qubes, backupId }))).toEqual(
      original.map(({ id, logicalBytes, streamSha256, qubes, backupId }) => ({ id, logicalBytes, streamSha256, qubes, backupId })),
    );
    // the rebuilt rows name their side records as ingest did, so a restore from them skips the listing too
    const sideIds = (file: string) => {
      const db = new Libsql(file, { readonly: true });
      try {
        return db.prepare("SELECT engineSnapshotId, sideSnapshotId FROM Snapshot ORDER BY engineSnapshotId").all();
      } finally {
        db.close();
      }
    };
    expect(sideIds(fresh.db)).toEqual(sideIds(s.db));
    expect((sideIds(fresh.db) as { sideSnapshotId: string | null }[]).every((r) => /^[0-9a-f]{64}$/.test(r.sideSnapshotId ?? ""))).toBe(true);
    // rows from before the side id was kept get it from the next reindex, which keeps them otherwise
    const w = new Libsql(fresh.db);
    w.prepare("UPDATE Snapshot SET sideSnapshotId = NULL").run();
    w.close();
    expect((await cli(fresh, ["reindex"])).stderr).toContain(`0 added, ${original.length} already indexed`);
    expect(sideIds(fresh.db)).toEqual(sideIds(s.db));
    const dump = await cli(fresh, ["dump", "latest"]);
    expect(dump.status).toBe(0);
    expect(crypto.createHash("sha256").update(dump.stdout).digest("hex")).toBe(original.at(-1)!.streamSha256);
  }, 120_000);

  it("a dump stopped by SIGTERM says so, exits 1, stops restic and leaves no lock", async () => {
    const [latest] = (JSON.parse((await cli(s, ["snapshots", "--json"])).stdout.toString()) as { id: string }[]).slice(-1);
    const child = spawn(NODE, [CLI, "dump", latest!.id], { env: s.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    // as soon as restic runs: inside its start-up (key derivation, then the lock file), where a careless stop leaves the lock behind
    await waitForChild(child.pid!, "restic");
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^qubes-dedup: the dump was cancelled( after \d+ bytes)?; the output is incomplete, dump again to get the whole stream\.\n$/);
    expect(resticLocks(resticRepo(s))).toEqual([]);
    expect(jobs(s).at(-1)).toMatchObject({ kind: "dump", status: "failed" });
  }, 60_000);

  it("refuses a truncated stream: exit 1, no snapshot in restic, the job recorded as failed", async () => {
    const before = resticSnapshotIds(resticRepo(s));
    const whole = fs.readFileSync(stream.file);
    const cut = path.join(s.dir, "cut");
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const r = await cli(s, ["ingest"], { inputFile: cut });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^qubes-dedup: the backup stream (ended|is malformed)/);
    expect(resticSnapshotIds(resticRepo(s))).toEqual(before);
    const last = jobs(s).at(-1)!;
    expect(last.status).toBe("failed");
    expect(r.stderr).toContain(last.error!);
  }, 120_000);

  it("refuses input that is not a Qubes backup", async () => {
    const before = resticSnapshotIds(resticRepo(s));
    const r = await cli(s, ["ingest"], { input: Buffer.from("hello, this is not a tar stream\n".repeat(100)) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^qubes-dedup: .*(not a Qubes backup|malformed)/);
    expect(resticSnapshotIds(resticRepo(s))).toEqual(before);
  }, 60_000);

  it("names an unregistered repository and how to add it", async () => {
    const r = await cli(s, ["ingest", "--repo", "offsite"], { input: Buffer.alloc(0) });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'qubes-dedup: no repository named "offsite" (known: default): register it with "qubes-dedup repo add offsite --engine restic --location PATH --password-file FILE".\n',
    );
  });

  it("reports a repository locked by another restic process with the fix, and records the failed job", async () => {
    const holder = await holdExclusiveLock(s);
    try {
      const r = await cli(s, ["ingest"], { inputFile: stream.file });
      expect(r.status).toBe(1);
      // the clean-up after the failed run before it is logged first, and fails for the same lock
      expect(r.stderr.trim().split("\n").pop()).toMatch(/^qubes-dedup: the restic repository .* is locked by another process; run `restic -r .* unlock` if no other backup is running/);
      expect(jobs(s).at(-1)!.status).toBe("failed");
    } finally {
      holder.kill("SIGKILL");
      process.kill(holder.pid!, "SIGCONT");
    }
  }, 120_000);

  it("says so when the password is wrong, and when restic is missing", async () => {
    fs.writeFileSync(s.passwordFile, "wrong\n");
    try {
      const r = await cli(s, ["ingest"], { inputFile: stream.file });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^qubes-dedup: .*password/);
    } finally {
      fs.writeFileSync(s.passwordFile, "correct horse battery staple\n");
    }
    // restic neither on PATH nor named by QUBES_DEDUP_RESTIC (the engines tier sets it)
    const r = await cli(s, ["ingest"], { inputFile: stream.file, env: { ...s.env, PATH: "/nonexistent", QUBES_DEDUP_RESTIC: "" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^qubes-dedup: .*restic.*(not installed|apt-get install restic)/);
    expect(jobs(s).slice(-2).map((j) => j.status)).toEqual(["failed", "failed"]);
  }, 120_000);
});

/**
 * Starts `restic prune` (which takes an exclusive lock) and freezes it with
 * SIGSTOP as soon as its lock file appears, so the repository stays locked
 * by a live process. Retries when prune finishes before the lock is seen.
 */
async function holdExclusiveLock(s: Scratch): Promise<ChildProcess> {
  const locks = path.join(s.repo, "locks");
  for (let attempt = 0; attempt < 20; attempt++) {
    // A lock left from the run before (being removed as prune starts) is not
    // prune's: wait for a lock name that was not there at the spawn.
    const before = new Set(fs.existsSync(locks) ? fs.readdirSync(locks) : []);
    const child = spawn(engineBinary("restic"), ["-r", s.repo, "--password-file", s.passwordFile, "prune"], { stdio: "ignore" });
    for (let i = 0; i < 400; i++) {
      // restic uploads to "<id>-tmp-…" first; only the renamed file is a lock.
      const done = () => fs.existsSync(locks) && fs.readdirSync(locks).some((f) => /^[0-9a-f]{64}$/.test(f) && !before.has(f));
      if (done()) {
        process.kill(child.pid!, "SIGSTOP");
        if (done()) return child;
        process.kill(child.pid!, "SIGCONT");
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => child.exitCode !== null ? r(null) : child.once("exit", r));
  }
  throw new Error("could not catch restic prune holding its lock");
}

describe("short snapshot ids: the ID column works with dump, restic and borg", () => {
  it.each(["restic", "borg"] as const)("%s: snapshots shows each backup's short id, and dump by it is byte-identical", async (engine) => {
    const s = scratch();
    const a = makeStream(s.dir, `short-${engine}-a`);
    const b = makeStream(s.dir, `short-${engine}-b`);
    const add = await cli(s, ["repo", "add", "default", "--engine", engine, "--location", s.repo, "--password-file", s.passwordFile]);
    expect(add.status).toBe(0);
    for (const st of [a, b]) expect((await cli(s, ["ingest"], { inputFile: st.file })).status).toBe(0);
    const snaps = JSON.parse((await cli(s, ["snapshots", "--json"])).stdout.toString()) as { id: string; shortId: string; streamSha256: string }[];
    expect(snaps.map((x) => x.streamSha256)).toEqual([a.sha256, b.sha256]);
    for (const x of snaps) expect(x.shortId).toMatch(/^[0-9a-f]{8}$/);
    if (engine === "restic") expect(snaps.map((x) => x.shortId)).toEqual(snaps.map((x) => x.id.slice(0, 8)));
    else expect(snaps.map((x) => x.id)).toEqual(snaps.map((x) => expect.stringMatching(new RegExp(`^qubes-dedup,qd-run:[0-9TZ]+-${x.shortId},qd-data$`))));
    const table = (await cli(s, ["snapshots"])).stdout.toString().split("\n").slice(1, 3).map((l) => l.split(/\s+/)[0]);
    expect(table).toEqual(snaps.map((x) => x.shortId));
    for (const x of snaps) {
      const d = await cli(s, ["dump", x.shortId]);
      expect(d.status).toBe(0);
      expect(crypto.createHash("sha256").update(d.stdout).digest("hex")).toBe(x.streamSha256);
    }
  }, 240_000);
});
