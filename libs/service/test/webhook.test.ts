import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listRepositories, notifyWebhook, requestBackup, setWebhook, ServiceError } from "../src/index.ts";
import { removeTemplate, seedTwoSnapshots, tempDatabase } from "./seed.ts";

// A local HTTP server that answers each request with the next status of
// `answers` (then 200), recording method, path and body.
let server: http.Server;
let base: string;
let answers: number[] = [];
const seen: { method: string; path: string; type?: string; body: string }[] = [];
let db: Awaited<ReturnType<typeof tempDatabase>>;
let repoId: number;
const fast = { retryDelaysMs: [1, 1], timeoutMs: 2000 };
const outcome = { repository: "default", kind: "backup", status: "succeeded", message: "backup of work sent to backup (repository default)", snapshot: "bbbb2222", startedAt: "2026-11-02T10:00:00.000Z", finishedAt: "2026-11-02T10:04:00.000Z" };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d));
    req.on("end", () => {
      seen.push({ method: req.method!, path: req.url!, type: req.headers["content-type"], body });
      res.statusCode = answers.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  db = await tempDatabase();
  repoId = (await seedTwoSnapshots(db)).id;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
  await removeTemplate();
});

describe("the repository webhook", () => {
  it("refuses a URL that is not http(s) or a method it does not know", async () => {
    await expect(setWebhook(db, "default", { url: "file:///etc/passwd" })).rejects.toThrow(ServiceError);
    await expect(setWebhook(db, "default", { url: "ftp://h/x" })).rejects.toThrow(
      "the webhook is not usable (give an http:// or https:// URL): give an http:// or https:// URL and POST, PUT or GET.",
    );
    await expect(setWebhook(db, "default", { url: `${base}/x`, method: "DELETE" as "POST" })).rejects.toThrow(/^the webhook is not usable/);
  });

  it("POSTs the job's outcome as JSON, retrying a 5xx answer, and records the delivery", async () => {
    await setWebhook(db, "default", { url: `${base}/hook/backups?token=s3cret` });
    seen.length = 0;
    answers = [503];
    expect(await notifyWebhook(db, repoId, outcome, fast)).toBeNull();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual({ method: "POST", path: "/hook/backups?token=s3cret", type: "application/json", body: JSON.stringify(outcome) });
    const [view] = await listRepositories(db);
    expect(view!.webhook).toMatchObject({ url: `${base}/hook/backups?token=s3cret`, method: "POST", lastError: null });
    expect(view!.webhook!.lastAt).toBeInstanceOf(Date);
  });

  it("gives up after three attempts and shows the failure on the dashboard, without the URL's query", async () => {
    seen.length = 0;
    answers = [500, 502, 500, 200];
    const failed = { ...outcome, status: "failed", message: "the backup stream ended early." };
    const error = await notifyWebhook(db, repoId, failed, fast);
    expect(seen).toHaveLength(3);
    expect(error).toBe(`The webhook ${base}/hook/backups answered 500 Internal Server Error (3 attempts) when told that a backup failed: check the URL and the service, or remove the webhook.`);
    const [view] = await listRepositories(db);
    expect(view!.webhook!.lastError).toBe(error);
    expect(view!.warnings).toContain(error);
    answers = [];
  });

  it("does not retry an answer that retrying cannot change (404), and GET sends no body", async () => {
    await setWebhook(db, "default", { url: `${base}/ping`, method: "GET" });
    seen.length = 0;
    answers = [404];
    expect(await notifyWebhook(db, repoId, outcome, fast)).toMatch(/^The webhook .*\/ping answered 404 Not Found \(1 attempt\)/);
    expect(seen).toEqual([{ method: "GET", path: "/ping", type: undefined, body: "" }]);
    expect(await notifyWebhook(db, repoId, outcome, fast)).toBeNull();
    expect((await listRepositories(db))[0]!.warnings.some((w) => w.startsWith("The webhook"))).toBe(false);
  });

  it("names an unreachable service, and a repository without a webhook calls nothing", async () => {
    const closed = await new Promise<number>((r) => {
      const s = http.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => r(port));
      });
    });
    await setWebhook(db, "default", { url: `http://127.0.0.1:${closed}/nothing-listens` });
    expect(await notifyWebhook(db, repoId, outcome, fast)).toBe(
      `The webhook http://127.0.0.1:${closed}/nothing-listens could not be reached (ECONNREFUSED) (3 attempts) when told that a backup succeeded: check the URL and the service, or remove the webhook.`,
    );
    await setWebhook(db, "default", null);
    seen.length = 0;
    expect(await notifyWebhook(db, repoId, outcome, fast)).toBeNull();
    expect(seen).toEqual([]);
    expect((await listRepositories(db))[0]!.webhook).toBeNull();
  });

  it("is told when a backup request ends, with dom0's summary", async () => {
    // dom0's side of the request: a qrexec client that answers as the agent does
    const client = path.join(db.dir, "qrexec-client-vm");
    fs.writeFileSync(client, "#!/bin/sh\ncat >/dev/null\nprintf 'progress 50.00\\nok backup of work sent to backup (repository default)\\n'\n", { mode: 0o755 });
    const saved = process.env.QUBES_DEDUP_QREXEC_CLIENT;
    process.env.QUBES_DEDUP_QREXEC_CLIENT = client;
    try {
      await setWebhook(db, "default", { url: `${base}/done`, method: "PUT" });
      seen.length = 0;
      const r = await requestBackup(db, { repository: "default", qubes: ["work"] });
      expect(r.outcome).toBe("succeeded");
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ method: "PUT", path: "/done" });
      expect(JSON.parse(seen[0]!.body)).toMatchObject({ repository: "default", kind: "backup", status: "succeeded", message: "backup of work sent to backup (repository default)" });
    } finally {
      if (saved === undefined) delete process.env.QUBES_DEDUP_QREXEC_CLIENT;
      else process.env.QUBES_DEDUP_QREXEC_CLIENT = saved;
    }
  });
});
