import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { BINS, e2eState } from "../support/paths.ts";
import { signIn } from "../support/sign-in.ts";
import { recorded } from "../support/records.ts";

// Runs last (files in name order, one worker): it forgets a snapshot and
// adds a second repository, which the other specs do not expect.
const state = e2eState();
test.describe.configure({ mode: "serial" });

test("a failing webhook is retried a bounded number of times and its failure shows on the dashboard", async ({ page }, testInfo) => {
  const seen: { method: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d));
    req.on("end", () => {
      seen.push({ method: req.method!, body });
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    await signIn(page);
    await page.goto(`${state.baseURL}/schedules`);
    await page.getByTestId("webhook-url").fill("ftp://nowhere/x");
    await page.getByTestId("webhook-save").click();
    await expect(page.getByTestId("webhook-error")).toContainText("give an http:// or https:// URL");
    await page.getByTestId("webhook-url").fill(url);
    await page.getByTestId("webhook-save").click();
    await expect(page.getByTestId("webhook-status")).toHaveText("Not called yet.");
    const checks = page.locator('[data-testid="run-row"][data-kind="check"]');
    const before = await checks.count();
    await page.getByTestId("run-check").click();
    await expect(checks).toHaveCount(before + 1, { timeout: 60_000 });
    const failure = `The webhook ${url} answered 500 Internal Server Error (3 attempts) when told that a check succeeded: check the URL and the service, or remove the webhook.`;
    await expect(page.getByTestId("webhook-status")).toHaveText(failure, { timeout: 60_000 });
    expect(seen).toHaveLength(3);
    expect(seen.map((s) => s.method)).toEqual(["POST", "POST", "POST"]);
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ repository: "default", kind: "check", status: "succeeded", message: "The repository check passed: structure and 5% of the data verified." });
    await page.screenshot({ path: testInfo.outputPath("webhook-failed.png"), fullPage: true });
    await page.goto(state.baseURL);
    await expect(page.getByTestId("warnings")).toContainText(failure);
    await page.goto(`${state.baseURL}/schedules`);
    await page.getByTestId("webhook-remove").click();
    await expect(page.getByTestId("webhook-status")).toHaveCount(0);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test("retention forgets what its preview showed once confirmed", async ({ page }) => {
  const snaps = recorded(state.dbPath, "default").snapshots;
  expect(snaps).toHaveLength(2);
  await signIn(page);
  await page.goto(`${state.baseURL}/schedules`);
  for (const [rule, n] of [["keepLast", "1"], ["keepDaily", "0"], ["keepWeekly", "0"], ["keepMonthly", "0"]]) await page.getByTestId(`ret-${rule}`).fill(n!);
  await page.getByTestId("ret-save").click();
  await expect(page.getByText("Policy saved; it is applied by retention runs.")).toBeVisible();
  await page.getByTestId("run-retention").click();
  await expect(page.getByTestId("ret-preview-summary")).toHaveText("This forgets 1 of 2 backup runs (their data is pruned) and keeps 1.");
  await page.getByTestId("ret-confirm").click();
  const run = page.locator('[data-testid="run-row"][data-kind="retention"]');
  await expect(run).toHaveAttribute("data-status", "succeeded", { timeout: 60_000 });
  await expect(run).toContainText("Kept 1 backup run(s) and forgot 1 (keep last 1, daily 0, weekly 0, monthly 0).");
  expect(recorded(state.dbPath, "default").snapshots.map((s) => s.engineSnapshotId)).toEqual([snaps[0]!.engineSnapshotId]);
});

test("pages start with the repository named default, then with the one last used, not the first by name", async ({ page }) => {
  const pw = path.join(state.tmp, "archive.pw");
  fs.writeFileSync(pw, "archive password\n", { mode: 0o600 });
  execFileSync(process.execPath, [BINS.qubesDedup, "repo", "add", "archive", "--engine", "restic", "--location", path.join(state.tmp, "archive"), "--password-file", pw, "--db", state.dbPath], {
    stdio: "pipe",
  });
  await signIn(page);
  for (const [where, id] of [["/backup", "backup-repo"], ["/restore", "restore-repo"]] as const) {
    await page.goto(`${state.baseURL}${where}`);
    await expect(page.getByTestId(id)).toHaveValue("default");
  }
  await page.goto(`${state.baseURL}/backup`);
  await page.getByTestId("backup-repo").selectOption("archive");
  await page.goto(`${state.baseURL}/restore`);
  await expect(page.getByTestId("restore-repo")).toHaveValue("archive");
  await page.getByTestId("restore-repo").selectOption("default");
  await page.goto(`${state.baseURL}/backup`);
  await expect(page.getByTestId("backup-repo")).toHaveValue("default");
});

test("every page fits a 390 px wide screen (no sideways scrolling, sign-out in view), screenshots at both widths", async ({ page }, testInfo) => {
  await signIn(page);
  const snap = recorded(state.dbPath, "default").snapshots[0]!.engineSnapshotId;
  const pages = ["/", "/qubes", "/snapshots", `/snapshots/${snap}`, "/backup", "/restore", "/schedules", "/repositories"];
  for (const [width, height] of [[1280, 900], [390, 844]] as const) {
    await page.setViewportSize({ width, height });
    for (const p of pages) {
      await page.goto(`${state.baseURL}${p}`);
      await expect(page.getByText("Loading")).toHaveCount(0);
      const name = p === "/" ? "overview" : p.slice(1).replace(/\//g, "-").replace(snap, "detail");
      await page.screenshot({ path: testInfo.outputPath(`${name}-${width}.png`), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${p} at ${width} px`).toBeLessThanOrEqual(0);
      const out = (await page.getByRole("button", { name: "Sign out" }).boundingBox())!;
      expect(out.x + out.width, `sign-out on ${p} at ${width} px`).toBeLessThanOrEqual(width);
    }
  }
});
