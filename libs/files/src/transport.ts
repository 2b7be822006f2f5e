import type { FsRequest } from "./request.ts";

/** Bounds of one request to the sandboxed reader. */
export interface RunOptions {
  /** most bytes accepted on stdout; more kills the reader (FilesError "too-large") */
  maxBytes: number;
  /** seconds before the reader is killed (FilesError "sandbox") */
  timeoutSeconds: number;
  /** where stdout goes; without it stdout is collected into RunResult.stdout */
  output?: NodeJS.WritableStream;
  /** size of the reader's fresh tmpfs (bytes); `tar` writes the directory there first */
  scratchBytes?: number;
}

export interface RunResult {
  /** stdout, when no output stream was given (else empty) */
  stdout: Buffer;
  /** bytes of stdout */
  bytes: number;
  /** stderr, at most 64 KiB, decoded as UTF-8; untrusted like the rest */
  stderr: string;
}

/**
 * Where an untrusted volume image is parsed: never in the calling process.
 * The simulator's (and a plain Linux host's) runner is {@link BwrapTransport};
 * on Qubes the same interface is {@link QrexecTransport}, which sends the
 * image to a disposable qube. Either one builds its debugfs commands from the
 * request (inode numbers only) and returns only stdout bytes, bounded.
 * @throws FilesError "sandbox" when the sandbox cannot start or was killed on
 *   timeout, "too-large" when stdout passed maxBytes
 */
export interface FsTransport {
  /** a short name for messages, e.g. "bubblewrap" */
  readonly name: string;
  run(image: string, req: FsRequest, opts: RunOptions): Promise<RunResult>;
}
