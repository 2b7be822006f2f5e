#!/usr/bin/env node
// `npm run web`: builds the dashboard when its sources changed, then serves
// it on 127.0.0.1:$PORT (3000). A relative $QUBES_DEDUP_DB is made absolute
// from the directory the user ran npm in: the server itself runs in
// apps/web (where npm sets INIT_CWD again), and it must open the same file
// as the CLI run from that directory.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ROOT, WEB_DIR, webBuildStale } from "./web-build.mjs";

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NX_NO_CLOUD: "true" };
if (env.QUBES_DEDUP_DB && !env.QUBES_DEDUP_DB.startsWith("file:")) {
  env.QUBES_DEDUP_DB = path.resolve(process.env.INIT_CWD ?? process.cwd(), env.QUBES_DEDUP_DB);
} else if (env.QUBES_DEDUP_DB?.startsWith("file:")) {
  env.QUBES_DEDUP_DB = `file:${path.resolve(process.env.INIT_CWD ?? process.cwd(), env.QUBES_DEDUP_DB.slice(5))}`;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.argv.includes("--rebuild") || webBuildStale()) {
  run("npx", ["nx", "run", "@qubes-dedup/web:build:next", "--outputStyle=static"], ROOT);
} else {
  console.log("qubes-dedup dashboard: the build in apps/web/.next is newer than its sources (--rebuild to build anyway)");
}
if (env.QUBES_DEDUP_DB) console.log(`qubes-dedup dashboard: index database ${env.QUBES_DEDUP_DB}`);
// exec-like: the server gets our signals through the shared process group
run("npm", ["run", "--silent", "start"], WEB_DIR);
