import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

const here = path.dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  // Native addon and its Prisma adapter must be loaded by Node at run time,
  // not bundled.
  serverExternalPackages: ["better-sqlite3", "@prisma/adapter-better-sqlite3"],
  // Workspace libs export TypeScript sources.
  transpilePackages: ["@qubes-dedup/db", "@qubes-dedup/service", "@qubes-dedup/pipeline", "@qubes-dedup/protocol"],
  // npm workspaces hoist dependencies to the monorepo root.
  turbopack: { root: path.join(here, "..", "..") },
  poweredByHeader: false,
  // Type checking is the project's own `typecheck` target (tsc over the app,
  // and the libs it imports); doing it again here would only make the
  // dashboard build hostage to unrelated work in progress.
  typescript: { ignoreBuildErrors: true },
};

export default config;
