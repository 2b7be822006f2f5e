import { createRequire } from "node:module";

// The index db read directly with libsql (its driver, better-sqlite3's API):
// the little of that API used here.
interface Statement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface SqliteDb {
  defaultSafeIntegers(on: boolean): void;
  prepare(sql: string): Statement;
  close(): void;
}
const Database = createRequire(import.meta.url)("libsql") as new (file: string, opts: object) => SqliteDb;

/** A snapshot as the index db recorded it. Sizes in bytes. */
export interface RecordedSnapshot {
  engineSnapshotId: string;
  logicalBytes: bigint;
  addedBytes: bigint;
  repositoryBytes: bigint;
  streamSha256: string;
  backupId: string;
  /** Qube names in qid order. */
  qubes: string[];
  /** Per qube (qid order): its files as [name, stream bytes, chunks]. */
  volumes: [string, bigint, bigint][][];
}

/** Everything the index db at `dbPath` holds for repository `name`, read directly (not through the app). */
export function recorded(dbPath: string, name: string): { engine: string; location: string; snapshots: RecordedSnapshot[] } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(true);
  try {
    const repo = db.prepare("SELECT id, engine, location FROM Repository WHERE name = ?").get(name) as
      | { id: bigint; engine: string; location: string }
      | undefined;
    if (!repo) throw new Error(`repository ${name} is not in ${dbPath}`);
    const snaps = db
      .prepare(
        "SELECT id, engineSnapshotId, logicalBytes, addedBytes, repositoryBytes, streamSha256, backupId FROM Snapshot WHERE repositoryId = ? ORDER BY createdAt DESC, id DESC",
      )
      .all(repo.id) as (Omit<RecordedSnapshot, "qubes" | "volumes"> & { id: bigint })[];
    const qubes = db.prepare("SELECT id, name FROM SnapshotQube WHERE snapshotId = ? ORDER BY qid");
    const vols = db.prepare("SELECT name, streamBytes, chunks FROM SnapshotVolume WHERE qubeId = ? ORDER BY id");
    return {
      engine: repo.engine,
      location: repo.location,
      snapshots: snaps.map(({ id, ...s }) => {
        const qs = qubes.all(id) as { id: bigint; name: string }[];
        return {
          ...s,
          qubes: qs.map((q) => q.name),
          volumes: qs.map((q) => (vols.all(q.id) as { name: string; streamBytes: bigint; chunks: bigint }[]).map((v) => [v.name, v.streamBytes, v.chunks] as [string, bigint, bigint])),
        };
      }),
    };
  } finally {
    db.close();
  }
}
