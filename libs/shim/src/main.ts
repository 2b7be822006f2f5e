/**
 * The `scrypt` shim (built to dist/scrypt). Handles Qubes' own call shapes
 * (`enc|dec [-f] <in> <out>`, passphrase from the controlling terminal) and
 * chooses a mode from the passphrase line: this project's passphrases get
 * authenticated pass-through (trailer in @qubes-dedup/protocol/formats), everything else, and any `dec`
 * input that is a real scrypt file, goes to the real scrypt. Any other call
 * shape is handed to the real scrypt unchanged. Imports are kept to node
 * built-ins and the protocol's formats entry (itself built-ins only) so that
 * start-up stays fast.
 */
import fs from "node:fs";
import { isProjectPassphraseLine, macKey } from "@qubes-dedup/protocol/formats";
import { parseCall, realScryptArgs, type ScryptCall } from "./call.ts";
import { PASS_ENV, resolveRealScrypt, runReal } from "./real.ts";
import { Terminal, promptPassphrase } from "./tty.ts";
import { ShimError, classifyInput, decAuthenticated, encAuthenticated, spoolStdin } from "./authenticated.ts";

const shimPath = process.argv[1] ?? "scrypt";

async function passUnchanged(argv: string[]): Promise<number> {
  return runReal(resolveRealScrypt(shimPath), argv);
}

function fallback(call: ScryptCall, line: Buffer, stdinFd?: number): Promise<number> {
  const text = line.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(line)) {
    throw new ShimError("the passphrase is not valid UTF-8 and cannot be handed to the real scrypt; use a UTF-8 passphrase.");
  }
  const real = resolveRealScrypt(shimPath);
  const input = stdinFd === undefined ? call.input : "-";
  const stdio = stdinFd === undefined ? "inherit" : ([stdinFd, "inherit", "inherit"] as const);
  return runReal(real, realScryptArgs(call, PASS_ENV, input), {
    env: { ...process.env, [PASS_ENV]: text },
    stdio: stdio as "inherit",
  });
}

function isProject(line: Buffer): boolean {
  const text = line.toString("utf8");
  return Buffer.from(text, "utf8").equals(line) && isProjectPassphraseLine(text);
}

/** True when a file input is one of our chunks (its trailer is well formed). */
function looksAuthenticated(input: string): boolean {
  if (input === "-") return false;
  try {
    const fd = fs.openSync(input, "r");
    try {
      const st = fs.fstatSync(fd);
      return st.isFile() && classifyInput(fd, st.size).kind === "authenticated";
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false; // the real scrypt reports unreadable inputs itself
  }
}

async function dec(call: ScryptCall, line: Buffer): Promise<number> {
  if (!isProject(line)) {
    if (looksAuthenticated(call.input)) {
      throw new ShimError(`${call.input} is a qubes-dedup chunk but the passphrase is not a qubes-dedup passphrase; restore with the passphrase file the backup was made with.`);
    }
    return fallback(call, line);
  }
  let fd: number;
  let size: number;
  let spooled = false;
  if (call.input === "-") {
    ({ fd, size } = spoolStdin());
    spooled = true;
  } else {
    fd = fs.openSync(call.input, "r");
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ShimError(`${call.input} is not a regular file; pass a file or "-" for stdin.`);
    size = st.size;
  }
  const what = classifyInput(fd, size);
  const label = call.input === "-" ? "the input on stdin" : call.input;
  if (what.kind === "scrypt") return fallback(call, line, spooled ? fd : undefined);
  if (what.kind === "unknown") {
    throw new ShimError(`${label} is neither a qubes-dedup chunk (no valid trailer: truncated, extended or not written by qubes-dedup) nor a scrypt file; nothing was written, restore from an intact copy of the backup.`);
  }
  decAuthenticated(macKey(line), fd, what.trailer, call.output, label);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const call = parseCall(argv);
  if (!call) return passUnchanged(argv);
  const term = Terminal.open();
  // Without a terminal this is not how Qubes calls scrypt; let scrypt decide.
  if (!term) return passUnchanged(argv);
  let line: Buffer;
  try {
    line = await promptPassphrase(term, call.mode === "enc");
  } finally {
    term.close();
  }
  if (call.mode === "dec") return dec(call, line);
  if (!isProject(line)) return fallback(call, line);
  const inFd = call.input === "-" ? 0 : fs.openSync(call.input, "r");
  encAuthenticated(macKey(line), inFd, call.output);
  return 0;
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === "string" && err.syscall) {
    const where = err.path ? ` ${err.path}` : "";
    return `cannot ${err.syscall}${where}: ${err.code}; check the path and its permissions.`;
  }
  return err instanceof Error ? err.message : String(e);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    fs.writeSync(2, `scrypt (qubes-dedup): ${describe(e)}\n`);
    process.exit(1);
  },
);
