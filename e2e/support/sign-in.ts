import { expect, type Page } from "@playwright/test";
import { e2eState } from "./paths.ts";

/** Signs in with the session token through the page's form, then waits for the overview's default repository. */
export async function signIn(page: Page): Promise<void> {
  const state = e2eState();
  await page.goto(state.baseURL);
  await expect(page.getByTestId("token-form")).toBeVisible();
  await page.getByLabel("Session token").fill(state.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("repository-default")).toBeVisible();
}
