import { defineConfig } from "vitest/config";

// Two test files at a time: most of a test's wall time is spent waiting on
// restic, borg, tar and the shim, so one worker (vitest's default on two
// cores) left a core idle for half of the run.
export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    maxWorkers: 2,
  },
});
