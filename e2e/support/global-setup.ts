import fs from "node:fs";
import path from "node:path";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { realBackup, BACKED_UP_QUBES } from "./ingest.ts";
import { ROOT, STATE_ENV, type E2eState } from "./paths.ts";
import { buildIfStale, startServer } from "./server.ts";

/**
 * Playwright global setup: a temp dir with a fresh index db and a real
 * restic repository holding one real ingest, and the dashboard (production
 * build) serving that db on a free port. Returns the teardown.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const tmp = tmpDir("e2e");
  const dbPath = path.join(tmp, "index.db");
  const backup = realBackup(tmp, dbPath);
  buildIfStale();
  const logDir = path.join(ROOT, "e2e", "test-results");
  fs.mkdirSync(logDir, { recursive: true });
  const server = await startServer({ QUBES_DEDUP_DB: dbPath, ...backup.serverEnv }, path.join(logDir, "server.log"));
  const state: E2eState = {
    baseURL: server.baseURL,
    dbPath,
    tmp,
    token: fs.readFileSync(path.join(tmp, "web-token"), "utf8").trim(),
    stream: { bytes: backup.streamBytes.toString(), sha256: backup.streamSha256 },
    expectedQubes: [...BACKED_UP_QUBES].sort(),
    dom0Root: backup.dom0Root,
    file: backup.file,
  };
  process.env[STATE_ENV] = JSON.stringify(state);
  return async () => {
    await server.stop();
    if (!process.env.QUBES_DEDUP_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  };
}
