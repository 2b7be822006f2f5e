/** What every command needs: the global options, the index db, stop signals. */
import type { Command } from "commander";
import { openIndex, type Database } from "@qubes-dedup/service";

/** The options given before or after the command name (see program.ts). */
export interface GlobalOptions {
  /** repository name, "default" unless given */
  repo: string;
  /** index database path or file: URL, when given */
  db?: string;
}

/** The global options as seen from inside `cmd`'s action. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Runs `fn` with the index db open, closing it afterwards whatever happens. */
export async function withDb<T>(dbPath: string | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openIndex(dbPath);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/**
 * An AbortSignal that SIGINT or SIGTERM fires: the running job then stops its
 * engines the way that releases their repository locks, and fails.
 */
export function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  // `on`, not `once`: execa's exit hook (signal-exit) re-raises a signal that
  // no other listener is left to handle, which would kill us mid-stop and
  // SIGTERM restic, which then leaves its lock behind
  process.on("SIGTERM", () => ac.abort(new Error("stopped by SIGTERM")));
  process.on("SIGINT", () => ac.abort(new Error("stopped by SIGINT")));
  return ac.signal;
}

/** Prints one line of a job's log (stale locks removed, …) on stderr. */
export function note(line: string): void {
  process.stderr.write(`qubes-dedup: ${line}\n`);
}
