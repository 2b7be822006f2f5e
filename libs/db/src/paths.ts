import path from "node:path";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Absolute path of the workspace root (the directory holding `prisma/`),
 * found by walking up from this module, or from a bundled file's location.
 * Throws when no `prisma/schema.prisma` is found above `from`.
 */
export function workspaceRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, "prisma", "schema.prisma"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find prisma/schema.prisma above ${from}: run qubes-dedup from its installed tree`);
    dir = up;
  }
}
