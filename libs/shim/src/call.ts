/**
 * The call shapes the shim handles itself: exactly what qubesd and
 * qvm-backup-restore run (backup format v4, qubes/backup.py and
 * qubesadmin/backup/restore.py): `enc [-f] <in> <out>` and
 * `dec [-f] <in> <out>`, where `-` means stdin (input) or stdout (output).
 * Everything else goes to the real scrypt unchanged.
 */

/** One parsed enc/dec call. Paths are as given; `-` is stdin/stdout. */
export interface ScryptCall {
  mode: "enc" | "dec";
  /** `-f` was given (passed on to the real scrypt in fallback mode). */
  force: boolean;
  input: string;
  output: string;
}

/**
 * Parses argv (without the program name). Returns null for every shape that
 * is not one of Qubes' calls (`info`, `-P`, `-t`, `--passphrase`, a missing
 * output, …), which the shim hands to the real scrypt unchanged. Pure.
 */
export function parseCall(argv: readonly string[]): ScryptCall | null {
  const [mode, ...rest] = argv;
  if (mode !== "enc" && mode !== "dec") return null;
  let force = false;
  if (rest[0] === "-f") {
    force = true;
    rest.shift();
  }
  if (rest.length !== 2) return null;
  const [input, output] = rest as [string, string];
  // A path that looks like an option is not a Qubes call; real scrypt decides.
  if (input === "" || output === "" || (input !== "-" && input.startsWith("-")) || (output !== "-" && output.startsWith("-"))) return null;
  return { mode, force, input, output };
}

/**
 * The argv for the real scrypt in fallback mode: the same call with the
 * passphrase handed over by `--passphrase env:VAR` (scrypt >= 1.3.0), and
 * output `-` dropped because scrypt 1.3.1 writes output `-` to a file named
 * `-` but writes to stdout when the output is omitted. Pure.
 */
export function realScryptArgs(call: ScryptCall, envVar: string, input = call.input): string[] {
  const args: string[] = [call.mode];
  if (call.force) args.push("-f");
  args.push("--passphrase", `env:${envVar}`, input);
  if (call.output !== "-") args.push(call.output);
  return args;
}
