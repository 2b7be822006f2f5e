import { createHash } from "node:crypto";
import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { e2eState } from "../support/paths.ts";
import { signIn } from "../support/sign-in.ts";

const state = e2eState();

for (const width of [1280, 390]) {
  test(`browse a qube's volume in a snapshot to a file and download it, bytes checked (${width} px)`, async ({ page }, testInfo) => {
    await page.setViewportSize({ width, height: 900 });
    await signIn(page);
    await page.goto(`${state.baseURL}/snapshots/latest`);
    await page.locator(`[data-testid="detail-qube"][data-qube="${state.file.qube}"]`).getByTestId("detail-browse").click();
    await expect(page.getByTestId("files-qube")).toHaveValue(state.file.qube);
    await expect(page.getByTestId("files-volume")).toHaveValue("private");
    const dir = page.getByTestId("files-entry").filter({ hasText: `${state.file.dir}/` });
    await expect(dir).toHaveAttribute("data-kind", "dir", { timeout: 30_000 });
    await page.screenshot({ path: testInfo.outputPath(`files-root-${width}.png`), fullPage: true });
    await dir.getByRole("button").click();
    const row = page.getByTestId("files-entry").filter({ hasText: state.file.name });
    await expect(row).toHaveAttribute("data-kind", "file");
    // a name with a newline and a terminal escape is shown escaped
    await expect(page.getByTestId("files-table")).toContainText("notes\\n\\x1b[31mred.txt");
    await page.screenshot({ path: testInfo.outputPath(`files-documents-${width}.png`), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("files-download").click()]);
    expect(download.suggestedFilename()).toBe(state.file.name);
    const file = await download.path();
    expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(state.file.sha256);
  });
}

test("search by name finds the file and downloads it from the hits", async ({ page }) => {
  await signIn(page);
  await page.goto(`${state.baseURL}/snapshots/latest/files?qube=${state.file.qube}`);
  await page.getByTestId("files-search").fill(state.file.name.slice(0, 4).toUpperCase());
  await page.getByRole("button", { name: "Search here" }).click();
  const hit = page.getByTestId("files-hit");
  await expect(hit).toHaveText(`/${state.file.dir}/${state.file.name} download`, { timeout: 30_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), hit.getByRole("link", { name: "download" }).click()]);
  expect(createHash("sha256").update(fs.readFileSync(await download.path())).digest("hex")).toBe(state.file.sha256);
});

test("a missing path is one sentence, and the download needs the session token", async ({ request }) => {
  const snap = await request.get(`${state.baseURL}/api/files?snapshotId=1&qube=work&volume=private&path=/Documents/nope`);
  expect(snap.status()).toBe(401);
  const r = await request.get(`${state.baseURL}/api/files?snapshotId=1&qube=work&volume=private&path=/Documents/nope`, { headers: { authorization: `Bearer ${state.token}` } });
  expect(r.status()).toBe(404);
  expect(await r.json()).toEqual({ error: "/Documents/nope does not exist in this snapshot; list its parent directory to see what is there." });
});
