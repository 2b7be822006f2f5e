import { expect, test } from "@playwright/test";
import { answerTheWaitingCall, committedVolumeHashes, unansweredCalls } from "@qubes-dedup/qubes-sim/testing";
import { e2eState } from "../support/paths.ts";
import { recorded } from "../support/records.ts";
import { signIn } from "../support/sign-in.ts";

// Runs after requests.spec.ts (files run in name order, one worker): the
// repository holds the setup's ingest (work, personal, vault by plain
// qvm-backup) and the page-started backup of work and personal, which dom0's
// agent recorded in its ledger.
const state = e2eState();

test("the Qubes page lists every qube dom0 had, marks the never backed up ones, and shows sizes and restore points", async ({ page }, testInfo) => {
  await signIn(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${state.baseURL}/qubes`);
  const rows = page.getByTestId("qube-row");
  // the newest backup's qubes.xml lists the whole default system: dom0, the template and three AppVMs
  await expect(rows).toHaveCount(5);
  // in the order of that qubes.xml
  expect(await rows.evaluateAll((rs) => rs.map((r) => [r.getAttribute("data-qube"), r.getAttribute("data-never")]))).toEqual([
    ["dom0", "true"],
    ["fedora-41", "true"],
    ["personal", "false"],
    ["vault", "false"],
    ["work", "false"],
  ]);
  await expect(page.getByTestId("qubes-never")).toHaveText("2 qube(s) were never backed up into this repository.");
  await expect(page.locator('[data-qube="fedora-41"]')).toContainText("never backed up");
  expect(await page.locator('[data-qube="fedora-41"] td').first().evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(255, 244, 230)");
  // work and personal are in both snapshots, vault only in the first
  await expect(page.getByTestId("qube-sizes-work")).toHaveAttribute("data-points", "2");
  await expect(page.getByTestId("qube-sizes-vault")).toHaveAttribute("data-points", "1");
  await expect(page.getByTestId("qube-sizes-work").locator(".recharts-line-curve")).toHaveCount(1);
  await expect(page.getByTestId("qube-restore-fedora-41")).toHaveCount(0);

  const snaps = recorded(state.dbPath, "default").snapshots; // newest first
  const points = page.getByTestId("restore-point");
  await expect(points).toHaveCount(2);
  await expect(points.first()).toHaveAttribute("data-point", snaps[0]!.backupId);
  await expect(points.first()).toContainText("3 qube(s) from 2 snapshot(s)");
  await points.first().getByRole("button", { expanded: false }).click();
  const qubes = points.first().getByTestId("restore-point-qube");
  expect((await qubes.evaluateAll((rs) => rs.map((r) => r.getAttribute("data-qube")))).sort()).toEqual(["personal", "vault", "work"]);
  await expect(points.first().locator('[data-qube="work"]')).toContainText("this backup");
  await expect(points.first().locator('[data-qube="vault"]')).toContainText(/older$/);
  await page.screenshot({ path: testInfo.outputPath("qubes-1280.png"), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await expect(rows).toHaveCount(5);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath("qubes-390.png"), fullPage: true });
});

test("restore this qube: dom0 confirms, takes the qube's latest backup from its ledger, and the restored volumes are identical", async ({ page }, testInfo) => {
  const original = committedVolumeHashes(state.dom0Root, "work");
  await signIn(page);
  await page.goto(`${state.baseURL}/qubes`);
  await page.getByTestId("qube-restore-work").click();
  const task = page.getByTestId("task");
  await expect(task.getByTestId("task-state")).toContainText("waiting for confirmation in dom0", { timeout: 30_000 });
  await expect.poll(() => unansweredCalls(state.dom0Root).length, { timeout: 30_000 }).toBe(1);
  answerTheWaitingCall(state.dom0Root, "allow");
  await expect(task).toHaveAttribute("data-state", "succeeded", { timeout: 120_000 });
  const newest = recorded(state.dbPath, "default").snapshots[0]!;
  // an earlier spec restored a work-1 already: --rename-conflicting takes the next free name
  const message = task.getByTestId("task-message");
  await expect(message).toContainText(new RegExp(`^restored 1 qube\\(s\\) of restore point ${newest.backupId}: work as work-\\d+, in 1 run\\(s\\); every chunk dom0's ledger lists for them arrived intact and in order$`));
  const as = /work as (work-\d+)/.exec((await message.textContent()) ?? "")![1]!;
  expect(committedVolumeHashes(state.dom0Root, as)).toEqual(original);
  await page.screenshot({ path: testInfo.outputPath("qubes-restored.png"), fullPage: true });
});
