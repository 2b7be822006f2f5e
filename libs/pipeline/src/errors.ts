/** The input is not a complete, well-formed Qubes backup stream (format v4). */
export class IngestError extends Error {
  override name = "IngestError";
}

/** What went wrong in an engine, for callers that word it differently. */
export type EngineFailure = "damaged" | "other";

/** restic/borg failed: missing binary, wrong password, locked, corrupt, unreachable. */
export class EngineError extends Error {
  override name = "EngineError";
  /**
   * @param failure "damaged" when the engine reported damaged data
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
