// When the dashboard's production build (apps/web/.next) is older than its
// sources: the app's own files and every lib it compiles in. Shared by
// `npm run web` (tools/web.mjs) and the e2e global setup.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The monorepo root (this file is tools/web-build.mjs). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const WEB_DIR = path.join(ROOT, "apps", "web");

/** Newest mtime (ms) of any file under `dir`, skipping build output and dependencies. */
function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === ".next" || e.name === "dist" || e.name === "generated") continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** True when apps/web/.next/BUILD_ID is missing or older than a source of the app or of a lib. */
export function webBuildStale() {
  const id = path.join(WEB_DIR, ".next", "BUILD_ID");
  if (!fs.existsSync(id)) return true;
  const libs = fs.readdirSync(path.join(ROOT, "libs")).map((l) => newestMtime(path.join(ROOT, "libs", l, "src")));
  const sources = Math.max(
    ...["app", "src"].map((d) => newestMtime(path.join(WEB_DIR, d))),
    ...["next.config.ts", "package.json", "instrumentation.ts"].map((f) => fs.statSync(path.join(WEB_DIR, f)).mtimeMs),
    ...libs,
    newestMtime(path.join(ROOT, "prisma")),
  );
  return fs.statSync(id).mtimeMs <= sources;
}
