import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { freePort } from "@qubes-dedup/qubes-sim";
import { ROOT } from "../support/paths.ts";
import { stopGroup, waitUntilUp } from "../support/server.ts";

/** The README's three lines of the dashboard recipe ("To look at the demo's backups"), comments dropped. */
function recipe(): { exportLine: string; web: string; token: string } {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /```sh\n(export QUBES_DEDUP_DB=var\/demo\/[^\n]*\n[\s\S]*?)```/.exec(readme);
  expect(block, "the README's dashboard recipe").not.toBeNull();
  const lines = block![1]!.trim().split("\n").map((l) => l.replace(/\s+#.*$/, "").trim());
  expect(lines).toHaveLength(3);
  const [exportLine, web, token] = lines as [string, string, string];
  expect(web).toBe("npm run web &");
  return { exportLine, web: web.replace(/ &$/, ""), token };
}

test("the README's dashboard recipe, run as written from the workspace root, signs in with the token the CLI prints", async ({ page }, testInfo) => {
  const r = recipe();
  // the recipe's relative path, in a directory of its own instead of the demo's
  const dir = `var/e2e-readme-${process.pid}`;
  const exportLine = r.exportLine.replace("var/demo", dir);
  expect(exportLine).toBe(`export QUBES_DEDUP_DB=${dir}/backup-qube/index.db`);
  const port = await freePort();
  const logFile = testInfo.outputPath("server.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, "a");
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.QUBES_DEDUP_DB;
  delete env.INIT_CWD;
  const server = spawn("sh", ["-c", `${exportLine}\n${r.web}`], { cwd: ROOT, env, stdio: ["ignore", log, log], detached: true });
  try {
    await waitUntilUp(`http://127.0.0.1:${port}/api/trpc/repositories.list`, server, logFile);
    const token = execFileSync("sh", ["-c", `${exportLine}\n${r.token}`], { cwd: ROOT, env, encoding: "utf8" }).trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    await page.goto(`http://127.0.0.1:${port}`);
    await page.getByLabel("Session token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("no-repositories")).toBeVisible();
    // one database, where the user ran the commands: not one under apps/web
    expect(fs.existsSync(path.join(ROOT, dir, "backup-qube", "index.db"))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, "apps", "web", dir))).toBe(false);
  } finally {
    await stopGroup(server);
    fs.rmSync(path.join(ROOT, dir), { recursive: true, force: true });
    fs.rmSync(path.join(ROOT, "apps", "web", dir), { recursive: true, force: true });
  }
});
