/**
 * Shared CLI plumbing: exit 2 with the usage text for argument errors,
 * exit 1 with `<tool>: <message>` for everything else.
 */
import fs from "node:fs";
import { SimError, UsageError } from "../errors.ts";

/** Runs `main` and exits with its code, mapping errors to messages. */
export function runCli(tool: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      const err = e as Error & { code?: string };
      if (e instanceof UsageError || err.code?.startsWith("ERR_PARSE_ARGS")) {
        process.stderr.write(`${tool}: ${err.message}\n${usage}`);
        process.exit(2);
      }
      process.stderr.write(e instanceof SimError ? `\n${tool}: ${err.message}\n` : `\n${tool}: unexpected error: ${err.stack ?? err.message}\n`);
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
