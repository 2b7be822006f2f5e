// The engine output pipe: a FIFO with a 1 MiB buffer, read to its end; and
// Node's own pipe when no FIFO can be made.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import { describe, expect, it } from "vitest";
import { ENGINE_PIPE_BYTES, inputPipe, outputPipe } from "../src/engine/pipe.ts";

/** Prints the pipe buffer size of fd 1 (fcntl F_GETPIPE_SZ), then `n` zero bytes. */
const probe = (n: number) => `python3 -c 'import fcntl,sys; sys.stdout.write(str(fcntl.fcntl(1, 1032)).rjust(8))'; head -c ${n} /dev/zero`;

describe("outputPipe", () => {
  it("gives an engine a 1 MiB pipe and ends when the engine exits, leaving no FIFO behind", async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("qubes-dedup-pipe-"));
    const p = outputPipe();
    expect(typeof p.childFd).toBe("number");
    expect(await p.resized).toBe(true);
    const child = spawn("/bin/sh", ["-c", probe(3_000_000)], { stdio: ["ignore", p.childFd, "inherit"] });
    const bytes = Buffer.concat(await p.ours(child.stdout).toArray());
    expect(bytes.subarray(0, 8).toString().trim()).toBe(String(ENGINE_PIPE_BYTES));
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
    expect(p.childFd).toBe("pipe");
    expect(await p.resized).toBe(false);
    const child = spawn("/bin/sh", ["-c", "head -c 100000 /dev/zero"], { stdio: ["ignore", p.childFd, "inherit"] });
    expect(Buffer.concat(await p.ours(child.stdout).toArray()).length).toBe(100_000);
  });

  it("gives an engine's stdin a 1 MiB pipe that ends when we end it", async () => {
    const p = inputPipe();
    expect(typeof p.childFd).toBe("number");
    expect(await p.resized).toBe(true);
    const child = spawn("/bin/sh", ["-c", "python3 -c 'import fcntl; print(fcntl.fcntl(0, 1032))'; wc -c"], { stdio: [p.childFd, "pipe", "inherit"] });
    const w = p.ours(child.stdin);
    const report = child.stdout!.toArray();
    for (let i = 0; i < 30; i++) if (!w.write(Buffer.alloc(100_000, i))) await once(w, "drain");
    w.end();
    expect(Buffer.concat(await report).toString().split(/\s+/).filter(Boolean)).toEqual([String(ENGINE_PIPE_BYTES), "3000000"]);
  });

  it("reports a reader that went away as an error on the stream (EPIPE), not a crash", async () => {
    const p = inputPipe();
    const child = spawn("/bin/true", [], { stdio: [p.childFd, "ignore", "inherit"] });
    const w = p.ours(child.stdin);
    await once(child, "exit");
    await p.resized;
    const failed = once(w, "error");
    w.write(Buffer.alloc(2 << 20));
    expect(((await failed)[0] as NodeJS.ErrnoException).code).toBe("EPIPE");
  });
});
