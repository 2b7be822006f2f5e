import { defineConfig } from "vitest/config";

// Builds and installs the packages (dpkg -i, rpm --root): minutes, not seconds.
export default defineConfig({ test: { testTimeout: 600_000, hookTimeout: 900_000 } });
