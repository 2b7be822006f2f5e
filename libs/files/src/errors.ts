/**
 * An error a user can hit while browsing a volume: one sentence, the cause
 * then what to do. `code` lets callers map it (CLI exit status, HTTP status).
 */
export class FilesError extends Error {
  constructor(
    message: string,
    readonly code: FilesErrorCode = "other",
  ) {
    super(message);
    this.name = "FilesError";
  }
}

/**
 * not-found: path, qube or volume missing; too-large: over a limit;
 * bad-filesystem: not ext4 or corrupt; sandbox: the sandbox cannot start or
 * was killed; other: anything else.
 */
export type FilesErrorCode = "not-found" | "too-large" | "bad-filesystem" | "sandbox" | "usage" | "other";
