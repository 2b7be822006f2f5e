import { defineConfig } from "vitest/config";

// The tests run the bundled CLI against real restic repositories.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000, setupFiles: ["test/setup.ts"] } });
