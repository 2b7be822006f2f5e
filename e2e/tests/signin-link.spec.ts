import { expect, test } from "@playwright/test";
import { e2eState } from "../support/paths.ts";

const state = e2eState();

// The app-menu entry (packaging/template/qubes-dedup-open) opens
// http://127.0.0.1:<port>/#token=<token>: nobody pastes a token to open their own dashboard.
test("a #token= link signs in without a paste, and the token leaves the address bar", async ({ page }, testInfo) => {
  await page.goto(`${state.baseURL}/#token=${state.token}`);
  await expect(page.getByTestId("repository-default")).toBeVisible();
  await expect(page.getByTestId("token-form")).toHaveCount(0);
  expect(new URL(page.url()).hash).toBe("");
  await page.screenshot({ path: testInfo.outputPath("signed-in-by-link.png"), fullPage: true });
  // The session is a cookie now: a plain reload stays signed in.
  await page.reload();
  await expect(page.getByTestId("repository-default")).toBeVisible();
});

test("a link with a wrong token leaves the sign-in form, and the wrong token leaves the address bar too", async ({ page }) => {
  await page.goto(`${state.baseURL}/#token=${"0".repeat(64)}`);
  await expect(page.getByTestId("token-form")).toBeVisible();
  expect(new URL(page.url()).hash).toBe("");
});
