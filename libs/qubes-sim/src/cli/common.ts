/**
 * Shared CLI plumbing: commander parses each simulated tool's command line
 * (the real tools' flags); exit 2 with the usage text for argument errors,
 * exit 0 for --help, exit 1 with `<tool>: <message>` for everything else.
 */
import fs from "node:fs";
import { Command, type CommanderError, type OptionValues } from "commander";
import { SimError, UsageError } from "../errors.ts";

/** Help was asked for and printed on stdout: exit 0. */
class HelpShown extends Error {}

/** commander's message as one sentence: "error: unknown option '--x'\n(Did you mean --y?)" -> "Unknown option '--x' (Did you mean --y?)". */
function sentence(err: CommanderError): string {
  if (err.code === "commander.conflictingOption") {
    const [a, b] = [...err.message.matchAll(/'([^']*)'/g)].map((m) => /--[\w-]+/.exec(m[1] ?? "")?.[0]);
    return `${a} and ${b} exclude each other`;
  }
  const text = err.message.replace(/^error: /, "").replace(/\n/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A simulated tool's command: `synopsis` is the usage after the tool's name
 * (lines after the first indented by the caller), `about` the text under it.
 * Parse errors are thrown as UsageError (HelpShown for --help), never printed.
 */
export function simCommand(tool: string, synopsis: string, about: string): Command {
  return new Command(tool)
    .usage(synopsis)
    .description(about)
    .exitOverride((err) => {
      throw err.code === "commander.helpDisplayed" ? new HelpShown() : new UsageError(sentence(err));
    })
    .configureOutput({ writeErr: () => {}, outputError: () => {} })
    .configureHelp({ helpWidth: 100, styleTitle: (title) => title.toLowerCase() });
}

/** A repeatable option's parser for commander: `-x A -x B` -> ["A", "B"]. */
export function repeatable(v: string, all: string[] | undefined): string[] {
  return [...(all ?? []), v];
}

/**
 * Parses the process's arguments with `program`, runs `main` on the options
 * and operands, and exits with its code, mapping errors to messages.
 */
export function runCli(program: Command, main: (values: OptionValues, positionals: string[]) => Promise<number>): void {
  const usage = program.helpInformation();
  Promise.resolve()
    .then(() => {
      program.parse(process.argv);
      return main(program.opts(), program.args);
    })
    .then(
      (code) => process.exit(code),
      (e: unknown) => {
        const err = e as Error;
        if (e instanceof HelpShown) process.exit(0);
        if (e instanceof UsageError) {
          process.stderr.write(`${program.name()}: ${err.message}\n${usage}`);
          process.exit(2);
        }
        process.stderr.write(e instanceof SimError ? `\n${program.name()}: ${err.message}\n` : `\n${program.name()}: unexpected error: ${err.stack ?? err.message}\n`);
        process.exit(1);
      },
    );
}

/**
 * Reads a passphrase like qvm-backup does: the first line of the file
 * (trailing whitespace removed), or of stdin for "-".
 * @throws SimError when the file cannot be read or the line is empty.
 */
export function readPassphrase(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new SimError(`Cannot read the passphrase file ${file} (${(e as NodeJS.ErrnoException).code}); check the path.`);
  }
  const line = (text.split("\n")[0] ?? "").trimEnd();
  if (!line) throw new SimError(`The passphrase file ${file} is empty; write the passphrase on its first line.`);
  return line;
}

/**
 * The least time between progress reports from QUBES_SIM_PROGRESS_INTERVAL
 * (milliseconds; qubesd's is 1000), or undefined. Small test systems back up
 * in under a second, when qubesd would report no progress at all.
 * @throws SimError on a value that is not a whole number.
 */
export function progressIntervalFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.QUBES_SIM_PROGRESS_INTERVAL;
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v)) throw new SimError(`QUBES_SIM_PROGRESS_INTERVAL="${v}" is not a whole number of milliseconds; fix or unset it.`);
  return Number(v);
}

/**
 * The chunk size from QUBES_SIM_CHUNK_SIZE (bytes), or undefined.
 * @throws SimError on a value that is not a positive integer.
 */
export function chunkSizeFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.QUBES_SIM_CHUNK_SIZE;
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new SimError(`QUBES_SIM_CHUNK_SIZE="${v}" is not a positive number of bytes; fix or unset it.`);
  return Number(v);
}
