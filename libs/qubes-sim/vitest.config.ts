import { defineConfig } from "vitest/config";

// Every test spawns real processes (GNU tar, python3, scrypt stand-in); give
// them room. The real-scrypt test sets its own, longer timeout.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
