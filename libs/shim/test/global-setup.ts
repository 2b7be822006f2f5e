import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The protocol tests drive the bundled executable, exactly what gets installed.
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  execFileSync("node", ["../../tools/bundle.mjs", "src/main.ts", "dist/scrypt"], { cwd: root, stdio: "ignore" });
  // The simulated qvm-backup / qvm-backup-restore (nx builds them first; direct vitest runs may not have).
  const sim = path.resolve(root, "../qubes-sim");
  if (!fs.existsSync(path.join(sim, "dist/bin/qvm-backup-restore"))) execFileSync("npm", ["run", "build"], { cwd: sim, stdio: "ignore" });
}
