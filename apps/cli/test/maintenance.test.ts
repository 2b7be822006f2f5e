import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, cli, makeStream, scratch, type Scratch } from "./harness.ts";

// verify, retention and schedules: what the dashboard does, from the command
// line, with --json, and --db given before or after the command (the
// environment names no database here).
let s: Scratch;
let env: NodeJS.ProcessEnv;
const run = async (args: string[]) => {
  const r = await cli(s, args, { env });
  return { ...r, out: r.stdout.toString() };
};
const json = async (args: string[]) => {
  const r = await run(args);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.out) as Record<string, unknown>;
};

beforeAll(async () => {
  s = scratch();
  env = { ...s.env };
  delete env.QUBES_DEDUP_DB;
  expect((await run(["repo", "add", "default", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile, "--db", s.db])).status).toBe(0);
});

// Two runs of one stream: two backup runs for retention. Ingested without
// blocking the worker (spawnSync would, see setup.ts).
it("stores two backup runs", async () => {
  const stream = makeStream(s.dir, "maintenance");
  for (let i = 0; i < 2; i++) {
    const child = promisify(execFile)(process.execPath, [CLI, "--db", s.db, "ingest"], { env });
    fs.createReadStream(stream.file).pipe(child.child.stdin!);
    await child;
  }
});

describe("qubes-dedup retention", () => {
  it("sets and shows the keep rules", async () => {
    expect((await run(["retention", "set", "--keep-last", "1", "--db", s.db])).stderr).toBe('qubes-dedup: retention policy of "default" saved\n');
    expect(await json(["--db", s.db, "retention", "show", "--json"])).toEqual({ keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
  });

  it("apply --dry-run lists what it would forget and forgets nothing; apply forgets exactly that", async () => {
    // oldest first, as `snapshots --json` lists them
    const snaps = (await json(["snapshots", "--json", "--db", s.db]) as unknown as { id: string }[]).map((x) => x.id);
    expect(snaps).toHaveLength(2);
    const dry = await json(["retention", "apply", "--dry-run", "--json", "--db", s.db]);
    expect(dry).toMatchObject({ repository: "default", dryRun: true, ok: true, forgotten: [snaps[0]] });
    expect((dry.runs as { id: string; keep: boolean }[]).map((r) => [r.id, r.keep])).toEqual([[snaps[1], true], [snaps[0], false]]);
    expect(await json(["snapshots", "--json", "--db", s.db])).toHaveLength(2);
    const done = await json(["--db", s.db, "retention", "apply", "--json"]);
    expect(done).toMatchObject({ dryRun: false, ok: true, forgotten: [snaps[0]], message: "Kept 1 backup run(s) and forgot 1 (keep last 1, daily 0, weekly 0, monthly 0)." });
    expect((await json(["snapshots", "--json", "--db", s.db]) as unknown as { id: string }[]).map((x) => x.id)).toEqual([snaps[1]]);
  });

  it("on a repository registered --append-only, apply fails at once with one sentence and forgets nothing", async () => {
    const added = await run(["repo", "add", "sealed", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile, "--append-only", "--db", s.db]);
    expect(added.stderr).toBe(`qubes-dedup: repository "sealed" (restic, append-only: retention runs on the server) at ${s.repo} is ready\n`);
    expect((await run(["repo", "list", "--db", s.db])).out).toContain(`sealed\trestic\t${s.repo}\tappend-only\n`);
    expect((await run(["retention", "set", "--repo", "sealed", "--keep-last", "1", "--db", s.db])).status).toBe(0);
    const before = await json(["snapshots", "--repo", "sealed", "--json", "--db", s.db]);
    const r = await run(["retention", "apply", "--repo", "sealed", "--db", s.db]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.toString()).toBe(`qubes-dedup: the restic repository ${s.repo} is append-only (its server refuses deletions), so this machine cannot forget snapshots and nothing was deleted; run retention on the server with its administrator's credentials (docs/INSTALL-QUBES.md, section 3.5).\n`);
    expect(await json(["snapshots", "--repo", "sealed", "--json", "--db", s.db])).toEqual(before);
  });

  it("refuses a keep count that is not a number, exit 2", async () => {
    const r = await run(["retention", "set", "--keep-last", "many", "--db", s.db]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('qubes-dedup: --keep-last takes a whole number from 0 to 10000, not "many"');
  });
});

describe("qubes-dedup verify", () => {
  it("check --json records a check run that passes", async () => {
    const r = await json(["verify", "check", "--read-data-subset", "100%", "--json", "--db", s.db]);
    expect(r).toMatchObject({ repository: "default", kind: "check", ok: true, message: "The repository check passed: structure and 100% of the data verified." });
  });
});

describe("qubes-dedup schedules", () => {
  it("adds, lists, pauses and removes schedules; a bad cron expression is a usage error", async () => {
    const added = await json(["schedules", "add", "check", "0 4 * * *", "--read-data-subset", "5%", "--json", "--db", s.db]);
    expect(added).toMatchObject({ repository: "default", kind: "check", cron: "0 4 * * *", readDataSubset: "5%", enabled: true });
    expect((added.nextRuns as string[])[0]).toMatch(/T04:00:00\.000Z$/);
    expect((await run(["--db", s.db, "schedules", "pause", String(added.id)])).stderr).toBe(`qubes-dedup: schedule ${added.id} paused\n`);
    expect(await json(["schedules", "list", "--json", "--db", s.db])).toEqual([{ ...added, enabled: false, nextRuns: [] }]);
    const bad = await run(["schedules", "add", "check", "every night", "--db", s.db]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('qubes-dedup: cron: "every night" is not a cron expression');
    expect((await run(["schedules", "remove", String(added.id), "--db", s.db])).status).toBe(0);
    expect(await json(["schedules", "list", "--json", "--db", s.db])).toEqual([]);
  });
});

describe("qubes-dedup webhook", () => {
  it("sets, shows and removes the repository's webhook; refuses a URL that is not http(s)", async () => {
    expect((await run(["webhook", "set", "https://ntfy.example/backups", "--method", "put", "--db", s.db])).stderr).toBe('qubes-dedup: the webhook of "default" is set (PUT)\n');
    expect(await json(["--db", s.db, "webhook", "show", "--json"])).toEqual({ url: "https://ntfy.example/backups", method: "PUT", lastAt: null, lastError: null });
    const bad = await run(["webhook", "set", "file:///etc/passwd", "--db", s.db]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe("qubes-dedup: the webhook is not usable (give an http:// or https:// URL): give an http:// or https:// URL and POST, PUT or GET.\n");
    expect((await run(["webhook", "off", "--db", s.db])).status).toBe(0);
    expect(await json(["webhook", "show", "--json", "--db", s.db])).toBeNull();
  });
});

// Last: it damages the repository.
describe("qubes-dedup verify on a damaged repository", () => {
  it("check prints the failed run and exits 1", async () => {
    const packs = fs.readdirSync(`${s.repo}/data`, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const pack = `${packs[0]!.parentPath}/${packs[0]!.name}`;
    fs.chmodSync(pack, 0o644);
    const fd = fs.openSync(pack, "r+");
    fs.writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 100);
    fs.closeSync(fd);
    const r = await run(["verify", "check", "--read-data-subset", "100%", "--json", "--db", s.db]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ repository: "default", kind: "check", ok: false });
    expect(JSON.parse(r.out).message).toMatch(new RegExp(`^the restic repository ${s.repo} is damaged \\(.+\\); run \`restic -r ${s.repo} check\` and repair it before the next backup\\.$`));
  });
});
