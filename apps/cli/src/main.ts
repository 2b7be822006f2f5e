/**
 * `qubes-dedup`: the backup qube's command line. Thin: parses arguments
 * (program.ts) and calls @qubes-dedup/service, like the web app does.
 * Exit 0 on success and for --help; 2 for a usage mistake (the sentence,
 * then the usage, on stderr); 1 for any other failure, with
 * `qubes-dedup: <one sentence>` on stderr.
 */
import { createProgram } from "./program.ts";
import { HelpShown, UsageError } from "./usage.ts";

async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    // a command that printed its whole answer and still failed (engines) sets process.exitCode
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof HelpShown) return 0;
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message ? `qubes-dedup: ${e.message}\n\n` : ""}${program.helpInformation()}`);
      return 2;
    }
    process.stderr.write(`qubes-dedup: ${(e as Error).message}\n`);
    if (process.env.QUBES_DEDUP_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
