import { expect, test } from "@playwright/test";
import { e2eState } from "../support/paths.ts";
import { signIn } from "../support/sign-in.ts";
import { recorded } from "../support/records.ts";

const state = e2eState();

/** "2,252,341,248 bytes", as the page's title attributes show exact sizes. */
const exact = (b: bigint) => `${b.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")} bytes`;

test("the API answers 401 without the session token and 403 to a foreign origin", async ({ request }) => {
  const anon = await request.get(`${state.baseURL}/api/trpc/repositories.list`);
  expect(anon.status()).toBe(401);
  expect(JSON.stringify(await anon.json())).toContain('run \\"qubes-dedup web-token\\" in the backup qube');
  const wrong = await request.get(`${state.baseURL}/api/trpc/repositories.list`, { headers: { authorization: `Bearer ${"0".repeat(64)}` } });
  expect(wrong.status()).toBe(401);
  const bearer = await request.get(`${state.baseURL}/api/trpc/repositories.list`, { headers: { authorization: `Bearer ${state.token}` } });
  expect(bearer.status()).toBe(200);
  const foreign = await request.post(`${state.baseURL}/api/session`, {
    headers: { origin: "http://evil.example" },
    data: { token: state.token },
  });
  expect(foreign.status()).toBe(403);
});

test("the page asks for the token and refuses a wrong one", async ({ page }, testInfo) => {
  await page.goto(state.baseURL);
  await expect(page.getByTestId("token-form")).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("token.png") });
  await page.getByLabel("Session token").fill("f".repeat(64));
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("token-error")).toHaveText(
    'That is not the current token: run "qubes-dedup web-token" in the backup qube and paste what it prints.',
  );
  await expect(page.getByTestId("repository-default")).toHaveCount(0);
});

test("the overview shows the repository and the snapshot of a real ingest exactly as recorded", async ({ page }, testInfo) => {
  const rec = recorded(state.dbPath, "default");
  expect(rec.snapshots).toHaveLength(1);
  const snap = rec.snapshots[0]!;
  // The index agrees with the stream measured on its way in.
  expect(snap.logicalBytes.toString()).toBe(state.stream.bytes);
  expect(snap.streamSha256).toBe(state.stream.sha256);
  expect([...snap.qubes].sort()).toEqual(state.expectedQubes);

  await signIn(page);
  const repo = page.getByTestId("repository-default");
  await expect(repo.getByTestId("repo-name")).toHaveText("default");
  // the engine and the version this backup qube runs (qubes-dedup engines has the exact figure)
  await expect(repo.getByTestId("repo-engine")).toHaveText(new RegExp(`^${rec.engine} \\d+\\.\\d+\\.\\d+$`));
  await expect(repo.getByTestId("repo-location")).toHaveText(rec.location);
  await expect(repo.getByTestId("repo-size")).toHaveAttribute("data-bytes", snap.repositoryBytes.toString());
  await expect(repo.getByTestId("repo-size")).toHaveAttribute("title", exact(snap.repositoryBytes));
  await expect(repo.getByTestId("repo-last-job")).toContainText("succeeded");
  await expect(repo.getByTestId("size-chart")).toBeVisible();

  const rows = repo.getByTestId("snapshot-row");
  await expect(rows).toHaveCount(1);
  const row = rows.first();
  await expect(row).toHaveAttribute("data-snapshot", snap.engineSnapshotId);
  await expect(row.getByTestId("snapshot-qubes")).toHaveText(snap.qubes.join(", "));
  await expect(row.getByTestId("snapshot-logical")).toHaveAttribute("data-bytes", state.stream.bytes);
  await expect(row.getByTestId("snapshot-logical")).toHaveAttribute("title", exact(snap.logicalBytes));
  await expect(row.getByTestId("snapshot-added")).toHaveAttribute("data-bytes", snap.addedBytes.toString());
  await expect(row.getByTestId("snapshot-repository")).toHaveAttribute("data-bytes", snap.repositoryBytes.toString());
  const ratio = Number(snap.logicalBytes) / Number(snap.repositoryBytes);
  await expect(row.getByTestId("snapshot-ratio")).toHaveText(`${ratio.toFixed(2)}×`);
  await page.screenshot({ path: testInfo.outputPath("overview.png"), fullPage: true });
});

test("the snapshot list filters by qube and the detail page shows qubes, volumes, backup-id and checksum", async ({ page }, testInfo) => {
  const snap = recorded(state.dbPath, "default").snapshots[0]!;
  await signIn(page);
  await page.goto(`${state.baseURL}/snapshots`);
  await expect(page.getByTestId("snapshot-row")).toHaveCount(1);
  await page.getByTestId("filter-qube").selectOption(snap.qubes[0]!);
  await expect(page.getByTestId("snapshot-row")).toHaveCount(1);
  await page.getByTestId("filter-from").fill("2000-01-01");
  await page.getByTestId("filter-to").fill("2000-01-02");
  await expect(page.getByTestId("no-match")).toBeVisible();
  await page.getByTestId("filter-to").fill("");
  await page.getByTestId("sort-logical").click();
  await expect(page.getByTestId("snapshot-row")).toHaveCount(1);
  await page.screenshot({ path: testInfo.outputPath("snapshots.png"), fullPage: true });

  await page.getByTestId("snapshot-link").first().click();
  const d = page.getByTestId("snapshot-detail");
  await expect(d.getByTestId("detail-engine-id")).toHaveText(snap.engineSnapshotId);
  await expect(d.getByTestId("detail-backup-id")).toHaveText(snap.backupId);
  await expect(d.getByTestId("detail-sha256")).toHaveText(state.stream.sha256);
  await expect(d.getByTestId("detail-logical")).toHaveAttribute("data-bytes", state.stream.bytes);
  await expect(d.getByTestId("detail-added")).toHaveAttribute("data-bytes", snap.addedBytes.toString());
  const qubes = d.getByTestId("detail-qube");
  await expect(qubes).toHaveCount(snap.qubes.length);
  for (const [i, name] of snap.qubes.entries()) {
    const q = qubes.nth(i);
    await expect(q).toHaveAttribute("data-qube", name);
    const files = q.getByTestId("detail-volume");
    await expect(files).toHaveCount(snap.volumes[i]!.length);
    for (const [j, [file, bytes, chunks]] of snap.volumes[i]!.entries()) {
      await expect(files.nth(j)).toContainText(file);
      await expect(files.nth(j).locator("[data-bytes]")).toHaveAttribute("data-bytes", bytes.toString());
      await expect(files.nth(j)).toContainText(`in ${chunks} chunk`);
    }
  }
  await page.screenshot({ path: testInfo.outputPath("snapshot-detail.png"), fullPage: true });
});
