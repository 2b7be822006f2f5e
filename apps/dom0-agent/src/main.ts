/**
 * `qubes-dedup-agent`: the dom0 CLI (bundled to dist/qubes-dedup-agent.mjs).
 * Usage errors (unknown flags, missing arguments, invalid names given on the
 * command line) print one sentence plus the usage text and exit 2; `--help`
 * exits 0; other failures print `qubes-dedup-agent: <message>` and exit 1,
 * or the exit status of qvm-backup / qvm-backup-restore.
 */
import { HelpShown, UsageError } from "./args.ts";
import { createProgram } from "./program.ts";
import { usageOf } from "./rpc/cli.ts";

/** The program's usage text, printed with every usage error outside rpc/policy. */
export const USAGE = createProgram().helpInformation();

/** Runs the CLI on `argv` (without node and script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const program = createProgram((s) => (status = s));
  try {
    await program.parseAsync(argv, { from: "user" });
    return status;
  } catch (e) {
    if (e instanceof HelpShown) return 0;
    if (e instanceof UsageError) {
      process.stderr.write(`qubes-dedup-agent: ${e.message}\n${(e.command && usageOf(e.command)) ?? USAGE}`);
      return 2;
    }
    process.stderr.write(`qubes-dedup-agent: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
