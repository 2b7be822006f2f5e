import { defineConfig } from "vitest/config";

// Opening a new index db runs every migration; on a shared 2-core machine
// under load that has taken over 9 s, past vitest's 5 s default.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
