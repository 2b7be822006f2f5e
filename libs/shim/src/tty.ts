/**
 * Passphrase entry on the controlling terminal, the way scrypt's readpass
 * does it: prompts on stderr without a newline, input from /dev/tty (never
 * stdin) with echo off, the line ends at "\r" or "\n".
 */
import fs from "node:fs";
import tty from "node:tty";

/** Raised when the passphrase cannot be read (no terminal, EOF, ^C). */
export class PassphraseError extends Error {
  override name = "PassphraseError";
}

/** Prompt texts of scrypt 1.3.1, matched byte for byte by qubesd. */
export const PROMPT = "Please enter passphrase: ";
export const CONFIRM_PROMPT = "Please confirm passphrase: ";
const MAX_TRIES = 3;
const MAX_LINE = 2047; // scrypt's readpass limit (MAXPASSLEN - 1)

/** The controlling terminal, opened for passphrase entry, or null when there is none. */
export class Terminal {
  private readonly stream: tty.ReadStream;
  private pending: number[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  private constructor(fd: number) {
    this.stream = new tty.ReadStream(fd);
    // Raw mode turns echo off for a human at the keyboard (qubesd's pty
    // already has it off); line editing is done below.
    this.stream.setRawMode(true);
    this.stream.on("data", (d: Buffer) => {
      for (const b of d) this.pending.push(b);
      this.wake();
    });
    this.stream.on("end", () => {
      this.ended = true;
      this.wake();
    });
    this.stream.on("error", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Opens /dev/tty; null when the process has no controlling terminal. */
  static open(): Terminal | null {
    let fd: number;
    try {
      fd = fs.openSync("/dev/tty", "r");
    } catch {
      return null;
    }
    return new Terminal(fd);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Reads one line (without its terminator) as bytes. */
  async readLine(): Promise<Buffer> {
    const line: number[] = [];
    for (;;) {
      while (this.pending.length > 0) {
        const b = this.pending.shift()!;
        if (b === 0x0a || b === 0x0d) return Buffer.from(line);
        if (b === 0x03) throw new PassphraseError("passphrase entry interrupted (^C); nothing was written.");
        if (b === 0x04 && line.length === 0) throw new PassphraseError("end of input on the terminal while reading the passphrase; type the passphrase and press Enter.");
        if (b === 0x7f || b === 0x08) line.pop();
        else if (b === 0x15) line.length = 0;
        else if (line.length < MAX_LINE) line.push(b);
      }
      if (this.ended) throw new PassphraseError("the terminal closed while reading the passphrase; run the command again from a terminal.");
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Restores the terminal mode and closes it. */
  close(): void {
    try {
      this.stream.setRawMode(false);
    } catch {
      // The terminal may already be gone; nothing to restore then.
    }
    this.stream.destroy();
  }
}

/**
 * Prompts for and reads the passphrase like scrypt: `enc` asks twice and
 * retries on a mismatch with scrypt's own message (up to 3 times here, where
 * scrypt would loop forever); `dec` asks once.
 * @returns the passphrase line as bytes.
 * @throws PassphraseError on EOF, ^C or repeated mismatch.
 */
export async function promptPassphrase(term: Terminal, confirm: boolean): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    fs.writeSync(2, PROMPT);
    const first = await term.readLine();
    if (!confirm) return first;
    fs.writeSync(2, CONFIRM_PROMPT);
    const second = await term.readLine();
    if (first.equals(second)) return first;
    if (attempt >= MAX_TRIES) {
      throw new PassphraseError(`the passphrases did not match ${MAX_TRIES} times; run the command again and type the same passphrase twice.`);
    }
    fs.writeSync(2, "Passwords mismatch, please try again\n");
  }
}
