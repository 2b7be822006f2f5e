/**
 * The `scrypt` shim (built to dist/scrypt). Handles Qubes' own call shapes
 * (`enc|dec [-f] <in> <out>`, passphrase from the controlling terminal) and
 * chooses a mode from the passphrase line: this project's passphrases get
 * authenticated pass-through (trailer in @qubes-dedup/protocol/formats), everything else, and any `dec`
 * input that is a real scrypt file, goes to the real scrypt. Any other call
 * shape is handed to the real scrypt unchanged. Imports are kept to node
 * built-ins and the protocol's formats entry (itself built-ins only) so that
 * start-up stays fast. For dom0's ledger (ledger.ts) `enc` spools what it
 * wrote, and `dec` inside an agent's restore run checks every chunk against
 * the run's plan.
 */
import fs from "node:fs";
import { isProjectPassphraseLine, macKey } from "@qubes-dedup/protocol/formats";
import { parseCall, realScryptArgs, type ScryptCall } from "./call.ts";
import { PASS_ENV, resolveRealScrypt, runReal } from "./real.ts";
import { Terminal, promptPassphrase } from "./tty.ts";
import { ShimError, classifyInput, decAuthenticated, encAuthenticated, spoolStdin, type DecInputKind } from "./authenticated.ts";
import { BackupSpool, RESTORE_RUN_ENV, RestoreRun, readHead, stateDir } from "./ledger.ts";
import { lineFields, type JournalEntry } from "./ledger-format.ts";

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
  const runDir = process.env[RESTORE_RUN_ENV];
  const run = runDir ? RestoreRun.open(runDir) : undefined;
  const label = call.input === "-" ? "the input on stdin" : call.input;
  if (!run) return decPlain(call, line, fd, spooled, what, label);
  try {
    return decInRun(run, call, line, fd, spooled, what, label);
  } catch (e) {
    run.record({ kind: "fail", reason: describe(e) });
    throw e;
  }
}

function decPlain(call: ScryptCall, line: Buffer, fd: number, spooled: boolean, what: DecInputKind, label: string): Promise<number> | number {
  if (what.kind === "scrypt") return fallback(call, line, spooled ? fd : undefined);
  if (what.kind === "unknown") {
    throw new ShimError(`${label} is neither a qubes-dedup chunk (no valid trailer: truncated, extended or not written by qubes-dedup) nor a scrypt file; nothing was written, restore from an intact copy of the backup.`);
  }
  decAuthenticated(macKey(line), fd, what.trailer, call.output, label);
  return 0;
}

/** `dec` inside a restore run the agent prepared: the ledger's checks first, then the journal. */
function decInRun(run: RestoreRun, call: ScryptCall, line: Buffer, fd: number, spooled: boolean, what: DecInputKind, label: string): Promise<number> | number {
  const f = lineFields(line.toString("utf8"));
  const named = (f?.kind === "chunk" && run.label(f.path)) || label;
  if (what.kind !== "authenticated") {
    if (run.plan.legacy) return decPlain(call, line, fd, spooled, what, named);
    throw new ShimError(`${named} is not a qubes-dedup chunk (no valid trailer: truncated, extended or replaced); nothing was written, restore from an intact copy of the backup.`);
  }
  let entry: JournalEntry;
  let fail: string | null;
  if (f?.kind === "header") {
    fail = run.judgeHeader(readHead(fd, what.trailer.dataLength));
    entry = { kind: "header", backupId: run.plan.backupId };
  } else if (f?.kind === "chunk") {
    fail = run.judgeChunk(f.backupId, f.path, what.trailer.tag.toString("hex"));
    entry = { kind: "ok", path: f.path };
  } else {
    throw new ShimError("the passphrase line is neither a backup header's nor a chunk's; only qvm-backup-restore may decrypt inside a restore run.");
  }
  if (fail) throw new ShimError(fail);
  decAuthenticated(macKey(line), fd, what.trailer, call.output, named);
  run.record(entry);
  return 0;
}

/** `enc` of a project passphrase: authenticated pass-through, spooled for dom0's ledger when a state directory is known. */
function enc(call: ScryptCall, line: Buffer): void {
  const inFd = call.input === "-" ? 0 : fs.openSync(call.input, "r");
  const state = stateDir(shimPath, process.env);
  const f = state ? lineFields(line.toString("utf8")) : null;
  if (state && f?.kind === "header" && call.input !== "-") BackupSpool.header(state, readHead(inFd, fs.fstatSync(inFd).size));
  const spool = state && f?.kind === "chunk" ? BackupSpool.of(state, f.backupId) : undefined;
  const sink = f?.kind === "chunk" && f.path === "qubes.xml.000" ? spool?.qubesXmlSink() : undefined;
  const trailer = encAuthenticated(macKey(line), inFd, call.output, sink?.write);
  sink?.close();
  if (f?.kind === "chunk") spool?.chunk(f.path, trailer);
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
  enc(call, line);
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
