import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Test support: a fresh, empty directory under the OS temp dir, named
 * `qdd-<tag>-XXXXXX` so leftovers say which test made them. The caller
 * removes it (or leaves it for the OS to clean).
 */
export function tmpDir(tag = "test"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `qdd-${tag}-`));
}
