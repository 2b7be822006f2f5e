import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter, createCaller } from "../src/server/api/root.ts";
import { locationProblem } from "@qubes-dedup/service";
import { removeTemplate, tempDatabase } from "../../../libs/service/test/seed.ts";
import { startRest, type RestServer } from "@qubes-dedup/qubes-sim";

let db: Awaited<ReturnType<typeof tempDatabase>>;
let rest: (RestServer & { port: number }) | undefined;
const caller = () => createCaller({ db, auth: { authorized: true, sameOrigin: true } });
const savedDb = process.env.QUBES_DEDUP_DB;

beforeEach(async () => {
  db = await tempDatabase();
  // The secrets directory lives next to the index db.
  process.env.QUBES_DEDUP_DB = path.join(db.dir, "index.db");
});
afterEach(async () => {
  await rest?.stop();
  rest = undefined;
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
  if (savedDb === undefined) delete process.env.QUBES_DEDUP_DB;
  else process.env.QUBES_DEDUP_DB = savedDb;
});
afterAll(removeTemplate);

/** repositories.add over HTTP, as the page calls it: the status and the message it shows (trpc.ts errorFormatter). */
async function post(input: object): Promise<{ status: number; message: string }> {
  const req = new Request("http://127.0.0.1:3000/api/trpc/repositories.add", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ json: input }),
  });
  const res = await fetchRequestHandler({ endpoint: "/api/trpc", req, router: appRouter, createContext: () => ({ db, auth: { authorized: true, sameOrigin: true } }) });
  return { status: res.status, message: ((await res.json()) as { error: { json: { message: string } } }).error.json.message };
}

describe("locationProblem", () => {
  it("accepts each engine's forms and refuses the rest", () => {
    expect(locationProblem("restic", "/srv/restic")).toBeNull();
    expect(locationProblem("restic", "rest:http://127.0.0.1:8000/q/")).toBeNull();
    expect(locationProblem("restic", "sftp:user@host:/srv/r")).toBeNull();
    expect(locationProblem("restic", "s3:s3.amazonaws.com/bucket")).toBeNull();
    expect(locationProblem("borg", "ssh://u@h:22/srv/borg")).toBeNull();
    for (const bad of ["relative/path", "/srv/../etc", "-o foo", "rest:http://h/ x", "/a\nb", "ssh://h/x"]) {
      expect(locationProblem("restic", bad), bad).not.toBeNull();
    }
    expect(locationProblem("borg", "rest:http://h/")).toBe("borg needs an absolute local path or an ssh://user@host[:port]/path URL: fix the location.");
  });
});

describe("repositories.add / test / check against a real REST backend (rclone serve restic)", () => {
  it("tests, adds and initialises, stores the password 0600 and never returns it", { timeout: 60_000 }, async () => {
    rest = await startRest(path.join(db.dir, "rest"));
    const input = { name: "office", engine: "restic" as const, location: `rest:${rest.url}qubes/`, password: "correct horse battery" };
    expect(await caller().repositories.test(input)).toEqual({
      ok: true,
      initialised: false,
      message: `Reachable, but there is no restic repository at ${input.location} yet: adding it will initialise one.`,
    });
    expect(await caller().repositories.add(input)).toMatchObject({ name: "office" });
    const secret = path.join(db.dir, "secrets", "office.password");
    expect(fs.readFileSync(secret, "utf8")).toBe("correct horse battery\n");
    expect(fs.statSync(secret).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(secret)).mode & 0o777).toBe(0o700);
    const list = JSON.stringify(await caller().repositories.list(), (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    expect(list).not.toContain("correct horse");
    expect(list).not.toContain(secret);
    expect((await caller().repositories.test(input)).initialised).toBe(true);
    const [repo] = await caller().repositories.list();
    expect(await caller().repositories.check({ id: repo!.id })).toEqual({ ok: true, initialised: true, message: "Connected: office opens with its stored password." });
    await expect(caller().repositories.add(input)).rejects.toThrow('A repository named "office" already exists: choose another name.');

    const wrong = await caller().repositories.test({ ...input, password: "not the password" });
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toContain("the password in");

    await rest.stop();
    const down = await caller().repositories.check({ id: repo!.id });
    expect(down.ok).toBe(false);
    expect(down.message).toBe(`Cannot reach the REST server at ${rest.url}qubes/ (ECONNREFUSED): start it or fix the URL.`);
    await expect(caller().repositories.add({ ...input, name: "other" })).rejects.toThrow(/Cannot reach the REST server/);
    expect(fs.existsSync(path.join(db.dir, "secrets", "other.password"))).toBe(false);
  });

  it("answers a bad location or a short password over HTTP with one sentence", async () => {
    expect(await post({ name: "x", engine: "restic", location: "relative", password: "12345678" })).toEqual({
      status: 400,
      message: "Invalid location: restic needs an absolute local path or a rest:http(s)://…, sftp:user@host:/path or s3:… URL: fix the location.",
    });
    expect(await post({ name: "x", engine: "restic", location: "/tmp/x", password: "short" })).toEqual({
      status: 400,
      message: "Invalid password: use a repository password of at least 8 characters.",
    });
  });
});

describe("repositories.add with a machine name (several machines, one repository)", () => {
  it("stores the machine and lists it; a name that is no machine name is refused and nothing is added", { timeout: 60_000 }, async () => {
    const input = { name: "shared", engine: "restic" as const, location: path.join(db.dir, "repo"), password: "correct horse battery" };
    expect(await post({ ...input, machine: "my laptop" })).toEqual({ status: 400, message: 'Invalid machine: use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. laptop or office-pc).' });
    expect(await caller().repositories.list()).toEqual([]);
    expect(await caller().repositories.add({ ...input, machine: "laptop" })).toMatchObject({ name: "shared", machine: "laptop" });
    expect((await caller().repositories.list()).map((r) => [r.name, r.machine])).toEqual([["shared", "laptop"]]);
  });
});
