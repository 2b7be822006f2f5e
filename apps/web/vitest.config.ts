import { defineConfig } from "vitest/config";

// Only the app's own tests: `next build` writes a standalone copy of the app
// (.next/standalone) that vitest would otherwise run a second time.
export default defineConfig({ test: { include: ["test/**/*.test.ts"] } });
