import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";
import { runtimeExternals } from "../../tools/runtime-externals.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  // A self-contained server (.next/standalone: server.js and the traced
  // node_modules, no dev dependencies) that the template package ships;
  // tools/package/template-files.ts adds .next/static beside it.
  output: "standalone",
  // Trace from the monorepo root, where npm workspaces hoist the packages.
  outputFileTracingRoot: path.join(here, "..", ".."),
  // The index db's driver (an N-API addon that picks its prebuilt binary at
  // run time) is loaded by Node from node_modules, not bundled.
  serverExternalPackages: runtimeExternals,
  // Workspace libs export TypeScript sources.
  transpilePackages: ["@qubes-dedup/db", "@qubes-dedup/service", "@qubes-dedup/pipeline", "@qubes-dedup/protocol", "@qubes-dedup/files"],
  // npm workspaces hoist dependencies to the monorepo root.
  turbopack: { root: path.join(here, "..", "..") },
  poweredByHeader: false,
  // Type checking is the project's own `typecheck` target (tsc over the app,
  // and the libs it imports); doing it again here would only make the
  // dashboard build hostage to unrelated work in progress.
  typescript: { ignoreBuildErrors: true },
};

export default config;
