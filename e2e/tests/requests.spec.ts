import { expect, test } from "@playwright/test";
import fs from "node:fs";
import path from "node:path";
import { BINS, ROOT, e2eState } from "../support/paths.ts";
import { signIn } from "../support/sign-in.ts";
import { recorded } from "../support/records.ts";
import { answerTheWaitingCall, committedVolumeHashes, unansweredCalls } from "@qubes-dedup/qubes-sim/testing";

const state = e2eState();
// The first backup (global setup) and the dashboard.spec checks on it run first (files in name order, one worker).
test.describe.configure({ mode: "serial" });

test("requests need the token, and changes need the dashboard's own origin", async ({ request }) => {
  const body = { json: { repository: "default", qubes: ["work"] } };
  const anon = await request.post(`${state.baseURL}/api/trpc/requests.backup`, { data: body });
  expect(anon.status()).toBe(401);
  const foreign = await request.post(`${state.baseURL}/api/trpc/requests.backup`, {
    data: body,
    headers: { authorization: `Bearer ${state.token}`, origin: "http://evil.example" },
  });
  expect(foreign.status()).toBe(403);
  const hostile = await request.post(`${state.baseURL}/api/trpc/requests.restore`, {
    data: { json: { repository: "default", snapshot: "abcd1234; reboot", qubes: [] } },
    headers: { authorization: `Bearer ${state.token}` },
  });
  expect(hostile.status()).toBe(400);
  expect(JSON.stringify(await hostile.json())).toContain("Invalid snapshot: use the id `qubes-dedup snapshots` shows (a short id, a unique start of a snapshot id");
  expect(recorded(state.dbPath, "default").snapshots).toHaveLength(1);
});

test("a backup started from the page reaches 100 % and its snapshot shows with its qubes", async ({ page }, testInfo) => {
  await signIn(page);
  await page.goto(`${state.baseURL}/backup`);
  await page.getByTestId("backup-qube-work").check();
  await page.getByTestId("backup-qube-personal").check();
  await page.screenshot({ path: testInfo.outputPath("backup-form.png"), fullPage: true });
  // one click, one request: a double click sends one backup request, and the button waits for it
  await page.getByTestId("backup-start").dblclick();
  const task = page.getByTestId("task");
  await expect(page.getByTestId("backup-start")).toBeDisabled();
  await expect(page.getByTestId("backup-busy")).toContainText("one backup per repository at a time");
  await expect(task).toHaveAttribute("data-state", "succeeded", { timeout: 120_000 });
  await expect(page.getByTestId("backup-error")).toHaveCount(0);
  await expect(page.getByTestId("backup-requests").locator("tr")).toHaveCount(1);
  await expect(page.getByTestId("backup-start")).toBeEnabled();
  await expect(task.getByTestId("task-percent")).toHaveText("100.0%");
  await expect(task.getByTestId("task-message")).toContainText("backup of work, personal");
  await page.screenshot({ path: testInfo.outputPath("backup-done.png"), fullPage: true });

  const snaps = recorded(state.dbPath, "default").snapshots;
  expect(snaps).toHaveLength(2);
  expect([...snaps[0]!.qubes].sort()).toEqual(["personal", "work"]);
  await page.goto(`${state.baseURL}/snapshots`);
  const rows = page.getByTestId("snapshot-row");
  await expect(rows).toHaveCount(2);
  await expect(page.locator(`[data-snapshot="${snaps[0]!.engineSnapshotId}"]`).getByTestId("snapshot-qubes")).toHaveText(snaps[0]!.qubes.join(", "));
});

test("a restore waits for dom0's confirmation, then succeeds and the restored volumes are identical", async ({ page }, testInfo) => {
  const original = committedVolumeHashes(state.dom0Root, "personal");
  await signIn(page);
  await page.goto(`${state.baseURL}/restore`);
  await page.getByTestId("restore-qube-personal").check();
  await expect(page.getByTestId("restore-rename")).toBeChecked();
  await page.getByTestId("restore-send").click();
  const task = page.getByTestId("task");
  await expect(task.getByTestId("task-state")).toContainText("waiting for confirmation in dom0", { timeout: 30_000 });
  await page.screenshot({ path: testInfo.outputPath("restore-waiting.png"), fullPage: true });
  await expect.poll(() => unansweredCalls(state.dom0Root).length, { timeout: 30_000 }).toBe(1);
  answerTheWaitingCall(state.dom0Root, "allow");
  await expect(task).toHaveAttribute("data-state", "succeeded", { timeout: 120_000 });
  await expect(task.getByTestId("task-percent")).toHaveText("100.0%");
  expect(committedVolumeHashes(state.dom0Root, "personal-1")).toEqual(original);
  await expect(task.getByTestId("task-message")).toContainText("restored 1 qube(s): personal as personal-1 from snapshot");
  await expect(task.getByTestId("task-bytes")).toHaveText(/^\d+(\.\d+)? [KMG]i?B$/);
  await expect(page.getByTestId("restore-history-row").first()).toHaveAttribute("data-status", "succeeded");
  await page.screenshot({ path: testInfo.outputPath("restore-done.png"), fullPage: true });
  // the overview names what the user did (a restore), not the dump dom0 ran for it
  await page.goto(state.baseURL);
  await expect(page.getByTestId("repo-last-job")).toHaveText(/^succeeded restore, started /);
});

test("a restore with paranoid mode ticked decrypts in the disposable qube and is identical", async ({ page }, testInfo) => {
  // The backup-qube package in the template of management_dispvm: its profile.d script and the shim.
  const overlay = path.join(state.dom0Root, "management-dispvm");
  fs.mkdirSync(path.join(overlay, "etc/profile.d"), { recursive: true });
  fs.mkdirSync(path.join(overlay, "usr/lib/qubes-dedup/bin"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, "packaging/template/profile.d-qubes-dedup.sh"), path.join(overlay, "etc/profile.d/qubes-dedup.sh"));
  fs.copyFileSync(BINS.shim, path.join(overlay, "usr/lib/qubes-dedup/bin/scrypt"));
  fs.chmodSync(path.join(overlay, "usr/lib/qubes-dedup/bin/scrypt"), 0o755);
  const original = committedVolumeHashes(state.dom0Root, "work");
  await signIn(page);
  await page.goto(`${state.baseURL}/restore`);
  await page.getByTestId("restore-qube-work").check();
  await page.getByTestId("restore-paranoid").check();
  await page.screenshot({ path: testInfo.outputPath("restore-paranoid-form.png"), fullPage: true });
  await page.getByTestId("restore-send").click();
  const task = page.getByTestId("task");
  await expect.poll(() => unansweredCalls(state.dom0Root).length, { timeout: 30_000 }).toBe(1);
  answerTheWaitingCall(state.dom0Root, "allow");
  await expect(task).toHaveAttribute("data-state", "succeeded", { timeout: 120_000 });
  await expect(task.getByTestId("task-message")).toContainText("in a disposable qube (paranoid mode)");
  expect(committedVolumeHashes(state.dom0Root, "work-1")).toEqual(original);
  await page.screenshot({ path: testInfo.outputPath("restore-paranoid-done.png"), fullPage: true });
});

test("a restore refused in dom0 shows the refusal", async ({ page }, testInfo) => {
  await signIn(page);
  await page.goto(`${state.baseURL}/restore`);
  await page.getByTestId("restore-qube-work").check();
  await page.getByTestId("restore-send").click();
  const task = page.getByTestId("task");
  await expect(task.getByTestId("task-state")).toContainText("waiting for confirmation in dom0", { timeout: 30_000 });
  await expect.poll(() => unansweredCalls(state.dom0Root).length, { timeout: 30_000 }).toBe(1);
  answerTheWaitingCall(state.dom0Root, "deny");
  await expect(task).toHaveAttribute("data-state", "refused", { timeout: 60_000 });
  await expect(task.getByTestId("task-message")).toContainText("dom0 refused the request");
  await expect(page.getByTestId("restore-history-row").first()).toHaveAttribute("data-status", "refused");
  await page.screenshot({ path: testInfo.outputPath("restore-refused.png"), fullPage: true });
});

test("the repositories page lists the repository without its secret", async ({ page }, testInfo) => {
  await signIn(page);
  await page.goto(`${state.baseURL}/repositories`);
  await expect(page.getByTestId("repository-row")).toHaveCount(1);
  await page.getByTestId("repository-check").click();
  await expect(page.getByTestId("repository-check-result")).toHaveText("Connected: default opens with its stored password.");
  expect(await page.content()).not.toContain("restic.pw");
  await page.screenshot({ path: testInfo.outputPath("repositories.png"), fullPage: true });
});

test("schedules show their next runs; retention, check and a confirmed restore drill land in the run log", async ({ page }, testInfo) => {
  await signIn(page);
  await page.goto(`${state.baseURL}/schedules`);
  await page.getByTestId("sched-cron").fill("every night");
  await page.getByTestId("sched-add").click();
  await expect(page.getByTestId("sched-error")).toContainText('Invalid cron: "every night" is not a cron expression');
  await page.getByTestId("sched-cron").fill("30 2 * * *");
  await page.getByTestId("sched-qubes").fill("work vault");
  await page.getByTestId("sched-add").click();
  const row = page.getByTestId("schedule-row");
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("schedule-next").locator("time")).toHaveCount(3);
  await expect(row.getByTestId("schedule-next").locator("time").first()).toHaveAttribute("datetime", /T02:30:00\.000Z$/);

  // Retention shows what it would forget and forgets nothing without a confirmation.
  const snaps = recorded(state.dbPath, "default").snapshots;
  expect(snaps).toHaveLength(2);
  await page.getByTestId("ret-keepLast").fill("1");
  await page.getByTestId("ret-save").click();
  await expect(page.getByText("Policy saved; it is applied by retention runs.")).toBeVisible();
  await page.getByTestId("run-retention").click();
  const preview = page.getByTestId("ret-preview");
  await expect(preview.getByTestId("ret-preview-summary")).toHaveText("This forgets 1 of 2 backup runs (their data is pruned) and keeps 1.");
  await expect(preview.locator('[data-verdict="forget"]')).toContainText(snaps[1]!.engineSnapshotId.slice(0, 12));
  await expect(preview.locator('[data-verdict="keep"]')).toContainText(snaps[0]!.engineSnapshotId.slice(0, 12));
  await expect(preview.getByTestId("ret-confirm")).toHaveText("Forget 1 backup run");
  await page.screenshot({ path: testInfo.outputPath("retention-preview.png"), fullPage: true });
  await preview.getByTestId("ret-cancel").click();
  await expect(preview).toHaveCount(0);
  expect(recorded(state.dbPath, "default").snapshots).toHaveLength(2);
  await page.getByTestId("ret-keepLast").fill("5");
  await page.getByTestId("ret-keepDaily").fill("7");
  await page.getByTestId("ret-save").click();
  await page.getByTestId("run-retention").click();
  await expect(preview.getByTestId("ret-preview-summary")).toHaveText("Nothing to forget: the policy keeps all 2 backup runs.");
  await expect(preview.getByTestId("ret-confirm")).toHaveCount(0);
  await preview.getByTestId("ret-cancel").click();
  await expect(page.locator('[data-testid="run-row"][data-kind="retention"]')).toHaveCount(0);
  expect(recorded(state.dbPath, "default").snapshots).toHaveLength(2);

  // Verification you can see: "never verified" until a check and a drill have run.
  await page.goto(state.baseURL);
  await expect(page.getByTestId("verify-check")).toHaveAttribute("data-status", "never");
  await expect(page.getByTestId("verify-drill")).toContainText("never verified");
  await page.goto(`${state.baseURL}/schedules`);
  await page.getByTestId("run-check").click();
  await expect(page.locator('[data-testid="run-row"][data-kind="check"]')).toHaveAttribute("data-status", "succeeded", { timeout: 60_000 });
  await expect(page.locator('[data-testid="run-row"][data-kind="check"]')).toContainText("The repository check passed: structure and 5% of the data verified.");
  await page.getByTestId("run-drill").click();
  await expect.poll(() => unansweredCalls(state.dom0Root).length, { timeout: 30_000 }).toBe(1);
  answerTheWaitingCall(state.dom0Root, "allow");
  await expect(page.locator('[data-testid="run-row"][data-kind="drill"]')).toHaveAttribute("data-status", "succeeded", { timeout: 120_000 });
  await page.screenshot({ path: testInfo.outputPath("schedules.png"), fullPage: true });

  await page.goto(state.baseURL);
  await expect(page.getByTestId("verify-check")).toHaveAttribute("data-status", "succeeded");
  await expect(page.getByTestId("verify-check")).toContainText("The repository check passed: structure and 5% of the data verified.");
  await expect(page.getByTestId("verify-drill")).toHaveAttribute("data-status", "succeeded");
  await expect(page.getByTestId("verify-drill")).toContainText(`of ${snaps[0]!.engineSnapshotId.slice(0, 12)}`);
  await page.screenshot({ path: testInfo.outputPath("overview-verified.png"), fullPage: true });
  // per snapshot: the drill restored the newest one only; the check came after both were stored
  await page.goto(`${state.baseURL}/snapshots/${snaps[0]!.engineSnapshotId}`);
  await expect(page.getByTestId("verify-drill")).toHaveAttribute("data-status", "succeeded");
  await expect(page.getByTestId("verify-check")).toHaveAttribute("data-status", "succeeded");
  await page.goto(`${state.baseURL}/snapshots/${snaps[1]!.engineSnapshotId}`);
  await expect(page.getByTestId("verify-drill")).toHaveAttribute("data-status", "never");
  await expect(page.getByTestId("verify-check")).toHaveAttribute("data-status", "succeeded");
  await page.screenshot({ path: testInfo.outputPath("snapshot-verification.png"), fullPage: true });

  await page.goto(state.baseURL);
  await expect(page.getByTestId("repo-next-backup").locator("time")).toHaveAttribute("datetime", /T02:30:00\.000Z$/);
});

test("a request cancelled while dom0 has not answered ends as cancelled", async ({ page }, testInfo) => {
  await signIn(page);
  await page.goto(`${state.baseURL}/restore`);
  await page.getByTestId("restore-verify-only").check();
  await page.getByTestId("restore-send").click();
  const task = page.getByTestId("task");
  await expect(task.getByTestId("task-state")).toContainText("waiting for confirmation in dom0", { timeout: 30_000 });
  await task.getByTestId("task-cancel").click();
  await expect(task).toHaveAttribute("data-state", "cancelled", { timeout: 30_000 });
  await expect(task.getByTestId("task-message")).toHaveText("Cancelled from the dashboard; no snapshot was recorded for this run.");
  await expect(page.getByTestId("restore-history-row").first()).toHaveAttribute("data-status", "failed");
  await page.screenshot({ path: testInfo.outputPath("restore-cancelled.png"), fullPage: true });
});
