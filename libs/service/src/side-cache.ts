/**
 * The backup qube's copies of side records (pipeline layout/side-cache.ts),
 * one file per side snapshot under `<data directory>/side-records/<repository
 * id>/`, named by the SHA-256 of the snapshot id (borg archive names hold
 * commas and colons). Written beside and renamed, so a reader never sees half
 * a file. A few KiB each; a forgotten snapshot's copy is never looked up again.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Database } from "@qubes-dedup/db";
import type { SideRecordCache } from "@qubes-dedup/pipeline";
import { dataDirectory } from "./database.ts";

/** The side-record copies of repository `repositoryId` of the index db `db`; never throws. */
export function sideCacheFor(db: Database, repositoryId: number): SideRecordCache {
  const dir = path.join(dataDirectory(db.url), "side-records", String(repositoryId));
  const file = (id: string) => path.join(dir, createHash("sha256").update(id).digest("hex"));
  return {
    get(id) {
      try {
        return fs.readFileSync(file(id));
      } catch {
        return undefined;
      }
    },
    put(id, stored) {
      const f = file(id);
      const tmp = `${f}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(tmp, stored, { mode: 0o600 });
        fs.renameSync(tmp, f);
      } catch {
        fs.rmSync(tmp, { force: true });
      }
    },
  };
}
