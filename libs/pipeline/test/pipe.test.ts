// The engine output pipe: a FIFO with a 1 MiB buffer, read to its end; and
// Node's own pipe when no FIFO can be made.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { OUTPUT_PIPE_BYTES, outputPipe } from "../src/engine/pipe.ts";

/** Prints the pipe buffer size of fd 1 (fcntl F_GETPIPE_SZ), then `n` zero bytes. */
const probe = (n: number) => `python3 -c 'import fcntl,sys; sys.stdout.write(str(fcntl.fcntl(1, 1032)).rjust(8))'; head -c ${n} /dev/zero`;

describe("outputPipe", () => {
  it("gives an engine a 1 MiB pipe and ends when the engine exits, leaving no FIFO behind", async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("qubes-dedup-pipe-"));
    const p = outputPipe();
    expect(typeof p.childStdout).toBe("number");
    expect(await p.resized).toBe(true);
    const child = spawn("/bin/sh", ["-c", probe(3_000_000)], { stdio: ["ignore", p.childStdout, "inherit"] });
    const bytes = Buffer.concat(await p.reader(child.stdout).toArray());
    expect(bytes.subarray(0, 8).toString().trim()).toBe(String(OUTPUT_PIPE_BYTES));
    expect(bytes.length).toBe(8 + 3_000_000);
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("qubes-dedup-pipe-"))).toEqual(before);
  });

  it("falls back to Node's own pipe when mkfifo is not there", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    let p;
    try {
      p = outputPipe();
    } finally {
      process.env.PATH = path;
    }
    expect(p.childStdout).toBe("pipe");
    expect(await p.resized).toBe(false);
    const child = spawn("/bin/sh", ["-c", "head -c 100000 /dev/zero"], { stdio: ["ignore", p.childStdout, "inherit"] });
    expect(Buffer.concat(await p.reader(child.stdout).toArray()).length).toBe(100_000);
  });
});
