import { expect, test } from "@playwright/test";
import { e2eState } from "../support/paths.ts";
import { recorded } from "../support/records.ts";

const state = e2eState();

/** "2,252,341,248 bytes", as the page's title attributes show exact sizes. */
const exact = (b: bigint) => `${b.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")} bytes`;

test("the dashboard shows the repository and the snapshot of a real ingest exactly as recorded", async ({ page }, testInfo) => {
  const rec = recorded(state.dbPath, "default");
  expect(rec.snapshots).toHaveLength(1);
  const snap = rec.snapshots[0]!;
  // The index agrees with the stream measured on its way in.
  expect(snap.logicalBytes.toString()).toBe(state.stream.bytes);
  expect(snap.streamSha256).toBe(state.stream.sha256);
  expect([...snap.qubes].sort()).toEqual(state.expectedQubes);

  await page.goto(state.baseURL);
  const repo = page.getByTestId("repository-default");
  await expect(repo.getByTestId("repo-name")).toHaveText("default");
  await expect(repo.getByTestId("repo-engine")).toHaveText(rec.engine);
  await expect(repo.getByTestId("repo-location")).toHaveText(rec.location);
  await expect(repo.getByTestId("repo-size")).toHaveAttribute("data-bytes", snap.repositoryBytes.toString());
  await expect(repo.getByTestId("repo-size")).toHaveAttribute("title", exact(snap.repositoryBytes));
  await expect(repo.getByTestId("repo-last-job")).toContainText("succeeded");

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

  await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });
});
