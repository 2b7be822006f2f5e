/**
 * Command-line helpers shared by every subcommand: commander's parse errors
 * turned into one plain sentence (the agent's own wording, kept apart from
 * the backup qube CLI's, which the agent may not import), and how system
 * paths and fix commands are shown under `--root` (a scratch run must never
 * read like a change to the real dom0).
 */
import type { Command, CommanderError } from "commander";
import { quote } from "shell-quote";
import { underRoot } from "./config.ts";

/** Raised for a command-line mistake: the message plus usage text, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The command whose usage text goes with the message (undefined: the program's). */
  command?: Command;
}

/** Help was asked for and printed on stdout: exit 0. */
export class HelpShown extends Error {
  override name = "HelpShown";
}

/** Commander's error codes a command may word itself (see {@link mistakes}). */
type MistakeCode = "commander.missingArgument" | "commander.excessArguments";

const worded = new WeakMap<Command, Partial<Record<MistakeCode, string>>>();

/** Gives `cmd` its own sentences for missing or extra operands; returns `cmd`. */
export function mistakes(cmd: Command, messages: Partial<Record<MistakeCode, string>>): Command {
  worded.set(cmd, messages);
  return cmd;
}

/** "qubes-dedup-agent shim status" -> "shim status"; the program itself -> "". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** "a, b or c". */
function either(words: string[]): string {
  return words.length < 2 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** The long flag of the first quoted option in commander's message: "'-d, --dest-vm <vm>'" -> "--dest-vm". */
function quotedFlag(message: string): string {
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  return /--[^\s,=<[]+/.exec(quoted)?.[0] ?? quoted.split(/[\s,]/)[0] ?? "";
}

/**
 * One sentence for commander's `err`, raised while parsing `cmd`'s
 * arguments (`command` names it, e.g. "secret new").
 */
export function parseErrorSentence(cmd: Command, err: CommanderError): string {
  const command = commandPath(cmd);
  const own = worded.get(cmd)?.[err.code as MistakeCode];
  if (own) return own;
  switch (err.code) {
    case "commander.unknownOption": {
      const given = /'([^']*)'/.exec(err.message)?.[1] ?? "";
      // commander reports "--flag=value" of a boolean flag as an unknown option
      const [name, value] = given.split(/=(.*)/s);
      if (value !== undefined && cmd.options.some((o) => o.long === name && !o.required && !o.optional)) return `option ${name} of ${command} takes no value; give it alone.`;
      return `${command} has no option ${given}; see the usage below.`;
    }
    case "commander.optionMissingArgument": {
      const flag = quotedFlag(err.message);
      return `option ${flag} of ${command} needs a value, as in ${flag} VALUE.`;
    }
    case "commander.conflictingOption": {
      const [a, b] = [...err.message.matchAll(/'([^']*)'/g)].map((m) => quotedFlag(`'${m[1]}'`));
      return `${a} and ${b} exclude each other`;
    }
    case "commander.excessArguments":
      return `unexpected argument ${cmd.args[cmd.registeredArguments.length]}`;
    case "commander.unknownCommand":
      return `unknown ${command ? `${command} ` : ""}command ${cmd.args[0]}`;
    case "commander.help":
      // a command that only groups others, given none
      return command ? `${command} needs ${either(cmd.commands.map((c) => c.name()))}` : "missing command";
  }
  return `the arguments of ${command} are not valid; see the usage below.`;
}

/**
 * The error to throw for commander's `err` on `cmd`: HelpShown for a help
 * request, else a UsageError carrying `cmd` and one sentence.
 */
export function fromCommander(cmd: Command, err: CommanderError): Error {
  if (err.code === "commander.helpDisplayed" || (err.code === "commander.help" && err.exitCode === 0)) return new HelpShown(err.message);
  const e = new UsageError(parseErrorSentence(cmd, err));
  e.command = cmd;
  return e;
}

/** System path `p` as shown to the user: itself for root "/", else inside `root`. */
export function shownPath(root: string, p: string): string {
  return underRoot(root, p);
}

/** A fix command for the user: `qubes-dedup-agent <words>`, plus `--root R` for a scratch root. */
export function agentCommand(root: string, words: string): string {
  return `qubes-dedup-agent ${words}${root === "/" ? "" : ` --root ${quote([root])}`}`;
}
