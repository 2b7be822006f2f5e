import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The tests run the bundled agent and install the bundled shim, as users do.
export default function setup(): void {
  const app = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const shim = path.resolve(app, "../../libs/shim");
  execFileSync("node", ["../../tools/bundle.mjs", "src/main.ts", "dist/scrypt"], { cwd: shim, stdio: "ignore" });
  execFileSync("node", ["../../tools/bundle.mjs", "src/cli.ts", "dist/qubes-dedup-agent.mjs"], { cwd: app, stdio: "ignore" });
}
