import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The protocol tests drive the bundled executable, exactly what gets installed.
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  execFileSync("node", ["../../tools/bundle.mjs", "src/main.ts", "dist/scrypt"], { cwd: root, stdio: "ignore" });
}
