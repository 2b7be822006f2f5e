/**
 * Command-line helpers shared by every subcommand: node:util parseArgs with
 * its errors turned into one plain sentence, and how system paths and fix
 * commands are shown under `--root` (a scratch run must never read like a
 * change to the real dom0).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { quote } from "shell-quote";
import { underRoot } from "./config.ts";

/** Raised for a command-line mistake: the message plus usage text, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** parseArgs option table. */
export type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * One sentence for a parseArgs error (Node's own text mentions `'-- "--x"'`
 * tricks that only confuse here). `command` names the subcommand, e.g. "secret new".
 */
export function parseErrorSentence(e: unknown, command: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  const message = (e as Error).message ?? String(e);
  const opt = /'(-[^' ]*)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `${command} has no option ${opt}; see the usage below.`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("argument missing")) return `option ${opt} of ${command} needs a value, as in ${opt} VALUE.`;
    if (message.includes("does not take an argument")) return `option ${opt} of ${command} takes no value; give it alone.`;
  }
  return `the arguments of ${command} are not valid; see the usage below.`;
}

/**
 * parseArgs (strict, positionals allowed).
 * @throws UsageError with one sentence from {@link parseErrorSentence}.
 */
export function parseCommandLine(args: string[], options: Options, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseErrorSentence(e, command));
  }
}

/** System path `p` as shown to the user: itself for root "/", else inside `root`. */
export function shownPath(root: string, p: string): string {
  return underRoot(root, p);
}

/** A fix command for the user: `qubes-dedup-agent <words>`, plus `--root R` for a scratch root. */
export function agentCommand(root: string, words: string): string {
  return `qubes-dedup-agent ${words}${root === "/" ? "" : ` --root ${quote([root])}`}`;
}
