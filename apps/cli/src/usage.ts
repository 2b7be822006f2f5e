/**
 * How the CLI turns commander's parse errors into its contract: a usage
 * mistake is one sentence plus the usage text on stderr and exit 2; `--help`
 * is exit 0.
 */
import type { Command, CommanderError } from "commander";

/** A command-line mistake: the CLI prints the message and the usage, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Help was asked for and printed: exit 0. */
export class HelpShown extends Error {
  override name = "HelpShown";
}

/** Commander's error codes a command may word itself (see {@link mistakes}). */
type MistakeCode = "commander.missingArgument" | "commander.excessArguments" | "commander.missingMandatoryOptionValue";

const worded = new WeakMap<Command, Partial<Record<MistakeCode, string>>>();

/**
 * Gives `cmd` its own one-sentence messages for wrong operands or missing
 * required options, in place of commander's generic ones; returns `cmd`.
 */
export function mistakes(cmd: Command, messages: Partial<Record<MistakeCode, string>>): Command {
  worded.set(cmd, messages);
  return cmd;
}

/** "qubes-dedup repo" -> "repo", the program itself -> "". */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * The error to throw for commander's `err`, raised while parsing `cmd`'s
 * arguments: HelpShown for a help request, else a UsageError in our words
 * (an empty message: just the usage, for a bare `qubes-dedup`).
 */
export function fromCommander(cmd: Command, err: CommanderError): Error {
  if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return new HelpShown(err.message);
  const own = worded.get(cmd)?.[err.code as MistakeCode];
  if (own) return new UsageError(own);
  const where = commandPath(cmd);
  // a command that only groups others, given none (commander: "show help as an error")
  if (err.code === "commander.help") return new UsageError(where ? `${where} needs a command: ${cmd.commands.map((c) => c.name()).join(" or ")}` : "");
  if (err.code === "commander.unknownCommand") return new UsageError(`unknown ${where ? `${where} ` : ""}command "${cmd.args[0]}"`);
  // commander's own wording, e.g. "error: unknown option '--x'\n(Did you mean --y?)", as one sentence
  const text = err.message.replace(/^error: /, "").replace(/\n/g, " ");
  return new UsageError(text.charAt(0).toUpperCase() + text.slice(1));
}
