/**
 * An error the user of the simulated dom0 tools can hit. Its message is one
 * sentence: the cause, then what to do about it. CLIs print it and exit 1.
 */
export class SimError extends Error {
  override name = "SimError";
}

/** A command-line usage error: the CLI prints the usage text and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
