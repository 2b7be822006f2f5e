import { createRequire } from "node:module";
import { expect, test } from "@playwright/test";
import { e2eState } from "../support/paths.ts";
import { signIn } from "../support/sign-in.ts";
import { recorded } from "../support/records.ts";

// Runs after requests.spec.ts (files run in name order, one worker): by then
// the repository holds the setup's ingest and the page-started backup.
const state = e2eState();

interface SqliteDb {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
  close(): void;
}
const Database = createRequire(import.meta.url)("libsql") as new (file: string, opts: object) => SqliteDb;

/** Db row id and engine id of every snapshot, oldest first, read directly from the index db. */
function snapshotIds(): { id: number; engineSnapshotId: string }[] {
  const db = new Database(state.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT id, engineSnapshotId FROM Snapshot ORDER BY id").all() as { id: number; engineSnapshotId: string }[];
  } finally {
    db.close();
  }
}

test("signed out, the server's first paint is the token form, without a sign-out button", async ({ browser }, testInfo) => {
  // No JavaScript: only what the server rendered.
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  for (const path of ["/", "/snapshots", "/restore"]) {
    await page.goto(`${state.baseURL}${path}`);
    await expect(page.getByTestId("token-form")).toBeVisible();
    await expect(page.getByText("Loading")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Sign out" })).toHaveCount(0);
  }
  await page.screenshot({ path: testInfo.outputPath("first-paint.png") });
  await ctx.close();
});

test("the token form keeps the command on one line, and signing in brings the sign-out button", async ({ page }, testInfo) => {
  await page.goto(state.baseURL);
  const code = page.getByTestId("token-form").locator("code");
  await expect(code).toHaveText("qubes-dedup web-token");
  expect(await code.evaluate((e) => getComputedStyle(e).whiteSpace)).toBe("nowrap");
  await page.screenshot({ path: testInfo.outputPath("token.png") });
  await signIn(page);
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
});

test("the size chart has round binary-unit ticks on one line and dated, timed x labels", async ({ page }, testInfo) => {
  await signIn(page);
  const chart = page.getByTestId("size-chart");
  const yTicks = chart.locator(".recharts-yAxis-tick-labels text");
  await expect(yTicks.first()).toBeVisible();
  const labels = await yTicks.allTextContents();
  expect(labels[0]).toBe("0");
  // Evenly spaced, a step of 1, 2, 2.5 or 5 times a power of ten, one unit for the whole axis.
  const parsed = labels.slice(1).map((l) => /^(\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB)$/.exec(l));
  for (const [i, m] of parsed.entries()) expect(m, labels[i + 1]).not.toBeNull();
  expect(new Set(parsed.map((m) => m![2])).size).toBe(1);
  const step = Number(parsed[0]![1]);
  expect([1, 2, 2.5, 5]).toContain(Number((step / 10 ** Math.floor(Math.log10(step))).toFixed(6)));
  parsed.forEach((m, i) => expect(Number(m![1])).toBeCloseTo(step * (i + 1), 6));
  const box = await chart.boundingBox();
  for (const t of await yTicks.all()) {
    const b = (await t.boundingBox())!;
    expect(b.height).toBeLessThan(24);
    expect(b.y).toBeGreaterThanOrEqual(box!.y);
    expect(b.x).toBeGreaterThanOrEqual(box!.x);
  }
  const xTicks = chart.locator(".recharts-xAxis-tick-labels text.time-tick");
  expect(await xTicks.count()).toBe(snapshotIds().length);
  for (const t of await xTicks.allTextContents()) expect(t).toMatch(/^\d{4}-\d{2}-\d{2}\d{2}:\d{2}(:\d{2})?$/);
  await page.screenshot({ path: testInfo.outputPath("overview.png"), fullPage: true });
});

test("a snapshot opens by engine id, by an 8-hex-digit prefix or by db id, and an unknown one says so", async ({ page }, testInfo) => {
  const rec = recorded(state.dbPath, "default").snapshots;
  const ids = snapshotIds();
  expect(ids.length).toBeGreaterThanOrEqual(2);
  await signIn(page);
  for (const { id, engineSnapshotId } of ids) {
    const sha = rec.find((r) => r.engineSnapshotId === engineSnapshotId)!.streamSha256;
    for (const ref of [engineSnapshotId, engineSnapshotId.slice(0, 8), engineSnapshotId.slice(0, 8).toUpperCase(), String(id)]) {
      await page.goto(`${state.baseURL}/snapshots/${ref}`);
      await expect(page.getByTestId("detail-engine-id")).toHaveText(engineSnapshotId);
      await expect(page.getByTestId("detail-sha256")).toHaveText(sha);
    }
  }
  // The list links by engine id, as the CLI prints it.
  await page.goto(`${state.baseURL}/snapshots`);
  await page.getByTestId("snapshot-link").first().click();
  await expect(page).toHaveURL(new RegExp(`/snapshots/${ids[ids.length - 1]!.engineSnapshotId}$`));

  for (const ref of ["deadbeefdeadbeef", "999999", "not-a-snapshot"]) {
    await page.goto(`${state.baseURL}/snapshots/${ref}`);
    const none = page.getByTestId("no-snapshot");
    await expect(none.getByRole("heading")).toHaveText(`No snapshot “${ref}”`);
    const shown = /^\d+$/.test(ref) ? ref : `"${ref}"`;
    await expect(none.locator(".error")).toHaveText(`There is no snapshot ${shown}: pick one from the snapshot list.`);
  }
  await page.screenshot({ path: testInfo.outputPath("no-snapshot.png") });
});
