/** The input is not a complete, well-formed Qubes backup stream (format v4). */
export class IngestError extends Error {
  override name = "IngestError";
}

/** restic/borg failed: missing binary, wrong password, locked, corrupt, unreachable. */
export class EngineError extends Error {
  override name = "EngineError";
}

/** A snapshot could not be written back as the original stream. */
export class DumpError extends Error {
  override name = "DumpError";
}
