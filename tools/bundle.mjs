#!/usr/bin/env node
// Bundles one TypeScript entry point into a single executable ESM file that
// needs only `node` (used for the shim, the dom0 agent, the qubes-dedup CLI
// and the simulator's commands).
// usage: node tools/bundle.mjs <entry.ts> <out-file> [--runtime-externals] [--external pkg]...
//   --runtime-externals  leave out the packages of tools/runtime-externals.mjs
//                        (the index db's driver), loaded from node_modules
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { runtimeExternals } from "./runtime-externals.mjs";

const [entry, outfile, ...rest] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error("usage: node tools/bundle.mjs <entry.ts> <out-file> [--runtime-externals] [--external pkg]...");
  process.exit(2);
}
const external = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--external" && rest[i + 1]) external.push(rest[++i]);
  else if (rest[i] === "--runtime-externals") external.push(...runtimeExternals);
  else {
    console.error(`bundle: unknown argument ${rest[i]}`);
    process.exit(2);
  }
}
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external,
  logLevel: "warning",
  legalComments: "none",
  banner: {
    // Bundled CommonJS dependencies call require(); give ESM one.
    js: "#!/usr/bin/env node\nimport { createRequire as __qddCreateRequire } from 'node:module';\nconst require = __qddCreateRequire(import.meta.url);",
  },
});
fs.chmodSync(outfile, 0o755);
console.log(`bundled ${path.relative(process.cwd(), outfile)}`);
