import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { e2eState } from "../support/paths.ts";
import { signIn } from "../support/sign-in.ts";

// Runs after zz-safe-actions (it adds one more repository, which the other
// specs do not expect). An append-only repository, added from the dashboard:
// the list marks it, and the Schedules page offers neither a retention policy,
// nor "Apply retention", nor a retention schedule, but says where retention
// has to run instead.
const state = e2eState();

test("an append-only repository is marked, and retention is not offered for it but sent to the server", async ({ page }, testInfo) => {
  const dir = path.join(state.tmp, "vault-append-only");
  await signIn(page);
  await page.goto(`${state.baseURL}/repositories`);
  await page.getByTestId("add-name").fill("vault");
  await page.getByTestId("add-location").fill(dir);
  await page.getByTestId("add-append-only").check();
  await page.getByTestId("add-password").fill("append only vault password");
  await page.getByTestId("add-submit").click();
  await expect(page.getByTestId("add-done")).toHaveText("Repository vault added (append-only: retention runs on the server).", { timeout: 60_000 });
  // the form is empty again, so a second click cannot add the same repository twice
  for (const field of ["add-name", "add-location", "add-password"]) await expect(page.getByTestId(field)).toHaveValue("");
  await expect(page.getByTestId("add-append-only")).not.toBeChecked();
  expect(fs.existsSync(path.join(dir, "config"))).toBe(true);
  const badge = page.getByTestId("repository-append-only");
  await expect(badge).toHaveCount(1);
  await expect(badge).toHaveText("append-only");
  await expect(badge).toHaveAttribute("title", /^This repository is append-only: its server refuses deletions/);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: testInfo.outputPath(`repositories-append-only-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.goto(`${state.baseURL}/schedules`);
  await page.getByTestId("sched-repo").selectOption({ label: "vault (restic)" });
  await expect(page.getByTestId("ret-append-only")).toContainText(
    "This repository is append-only: its server refuses deletions, so this backup qube cannot forget or prune snapshots (and neither can anyone who takes it over). Run retention on the server",
  );
  await expect(page.getByTestId("ret-save")).toHaveCount(0);
  await expect(page.getByTestId("run-retention")).toHaveCount(0);
  await expect(page.getByTestId("run-check")).toBeVisible();
  const kinds = await page.getByTestId("sched-kind").locator("option").allTextContents();
  expect(kinds.length).toBeGreaterThan(0);
  expect(kinds.some((k) => /retention/i.test(k))).toBe(false);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: testInfo.outputPath(`schedules-append-only-${width}.png`), fullPage: true });
  }
  // the other repositories still offer retention
  await page.getByTestId("sched-repo").selectOption({ label: "default (restic)" });
  await expect(page.getByTestId("run-retention")).toBeVisible();
  await expect(page.getByTestId("ret-append-only")).toHaveCount(0);
});
