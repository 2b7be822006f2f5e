/** The input is not a complete, well-formed Qubes backup stream (format v4). */
export class IngestError extends Error {
  override name = "IngestError";
}

/** What went wrong in an engine, for callers that word it differently. */
export type EngineFailure = "damaged" | "missing" | "gone" | "network" | "full" | "append-only" | "other";

/** The one sentence of an ingest stopped by its AbortSignal (SIGINT, SIGTERM): exit 1, nothing stored. */
export function ingestCancelled(bytesRead: number): IngestError {
  return new IngestError(`the backup was cancelled after ${bytesRead} bytes; nothing was stored.`);
}

/** restic/borg failed: missing binary, wrong password, locked, corrupt, unreachable. */
export class EngineError extends Error {
  override name = "EngineError";
  /**
   * @param failure "damaged" (the engine reported damaged data), "missing" (no
   *   repository at the location), "gone" (a local repository's directory no
   *   longer exists), "network" (its server cannot be reached)
   * @param detail the engine's own last error lines (stderr), when it ran
   */
  constructor(message: string, readonly failure: EngineFailure = "other", readonly detail?: string) {
    super(message);
  }
}

/** A snapshot could not be written back as the original stream. */
export class DumpError extends Error {
  override name = "DumpError";
}
