import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { cli, makeStream, scratch, type Scratch } from "./harness.ts";

// Two backup qubes (two index dbs) of two machines, one restic repository:
// `repo add --machine` names each; `snapshots` and `reindex` see only its own.
let laptop: Scratch;
let office: Scratch;
beforeAll(() => {
  laptop = scratch();
  office = scratch();
  fs.copyFileSync(laptop.passwordFile, office.passwordFile);
});
afterAll(() => {
  for (const s of [laptop, office]) fs.rmSync(s.dir, { recursive: true, force: true });
});

const add = (s: Scratch, machine: string) => cli(s, ["repo", "add", "default", "--engine", "restic", "--location", laptop.repo, "--password-file", s.passwordFile, "--machine", machine]);
const snapshots = async (s: Scratch) => (JSON.parse((await cli(s, ["snapshots", "--json"])).stdout.toString()) as { id: string }[]).map((x) => x.id);

it("repo add --machine refuses a name that is no machine name, in one sentence, and registers nothing", async () => {
  const r = await add(laptop, "my,laptop");
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: 'qubes-dedup: invalid machine name "my,laptop": use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. laptop or office-pc).\n' });
  expect((await cli(laptop, ["repo", "list"])).stdout.toString()).toBe("");
});

it("each machine's snapshots and reindex show only its own backups", { timeout: 180_000 }, async () => {
  expect((await add(laptop, "laptop")).stderr).toBe(`qubes-dedup: repository "default" (restic, machine laptop) at ${laptop.repo} is ready\n`);
  expect((await add(office, "office")).stderr).toBe(`qubes-dedup: repository "default" (restic, machine office) at ${laptop.repo} is ready\n`);
  expect((await cli(office, ["repo", "list"])).stdout.toString()).toBe(`default\trestic\t${laptop.repo}\tmachine office\n`);
  for (const s of [laptop, office]) {
    const stream = makeStream(s.dir, path.basename(s.dir));
    const r = await cli(s, ["ingest"], { inputFile: stream.file });
    expect(r.stderr).toMatch(/^qubes-dedup: stored snapshot [0-9a-f]{64}: /);
    expect(r.status).toBe(0);
  }
  const listed = { laptop: await snapshots(laptop), office: await snapshots(office) };
  expect([listed.laptop.length, listed.office.length]).toEqual([1, 1]);
  const [mine, theirs] = [listed.laptop[0]!, listed.office[0]!];
  expect(mine).not.toBe(theirs);
  // the office's index lost: reindex brings back the office's backup only
  fs.rmSync(office.db);
  expect((await add(office, "office")).status).toBe(0);
  expect((await cli(office, ["reindex"])).stderr).toBe('qubes-dedup: index of "default" rebuilt from the repository: 1 added, 0 already indexed, 0 removed (gone from the repository)\n');
  expect(await snapshots(office)).toEqual([theirs]);
  expect(await snapshots(laptop)).toEqual([mine]);
});
