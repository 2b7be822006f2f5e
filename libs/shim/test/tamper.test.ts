import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK_LINE, SECRET, bytes, run, scratch } from "./helpers.ts";

const AUTH_FAIL = "failed authentication (wrong passphrase, altered data, or a chunk from another file or backup); nothing was written, restore from an intact copy of the backup.";

const NOT_OURS = "is neither a qubes-dedup chunk (no valid trailer: truncated, extended or not written by qubes-dedup) nor a scrypt file; nothing was written, restore from an intact copy of the backup.";

describe("dec fails closed on tampering", () => {
  it("rejects a flipped bit, truncation, extension, a wrong key, a swapped path and another backup, writing nothing", async () => {
    const { dir, env } = scratch();
    const data = bytes(200_000, 5);
    const good = path.join(dir, "vm3-private.img.000.enc");
    expect((await run(env, ["enc", "-", good], CHUNK_LINE, data)).exitCode).toBe(0);
    const orig = fs.readFileSync(good);
    const variant = (name: string, b: Buffer): string => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, b);
      return p;
    };
    const flipped = Buffer.from(orig);
    flipped[123_456]! ^= 0x04;
    const flippedTag = Buffer.from(orig);
    flippedTag[orig.length - 1]! ^= 0x80;
    const cases: Array<[string, string, string]> = [
      ["flipped data bit", variant("flip", flipped), `${AUTH_FAIL}`],
      ["flipped tag bit", variant("fliptag", flippedTag), `${AUTH_FAIL}`],
      ["truncated", variant("trunc", orig.subarray(0, orig.length - 1000)), NOT_OURS],
      ["extended", variant("ext", Buffer.concat([orig, Buffer.alloc(10)])), NOT_OURS],
      ["tiny", variant("tiny", Buffer.from("abc")), NOT_OURS],
    ];
    for (const [what, file, msg] of cases) {
      const out = path.join(dir, `out-${what}`);
      const r = await run(env, ["dec", "-f", file, out], CHUNK_LINE);
      expect(r.exitCode, what).toBe(1);
      expect(r.stderr, what).toContain(`scrypt (qubes-dedup): ${file} ${msg}`);
      expect(fs.existsSync(out), what).toBe(false);
    }
    const lines: Array<[string, string]> = [
      ["wrong key", `20250102T030405-1234!vm3/private.img.000!qubes-dedup-v1-${"5b".repeat(32)}`],
      ["swapped path", `20250102T030405-1234!vm3/private.img.001!${SECRET}`],
      ["other backup", `20250102T030405-9999!vm3/private.img.000!${SECRET}`],
    ];
    for (const [what, line] of lines) {
      const out = path.join(dir, `out-${what}`);
      const r = await run(env, ["dec", "-f", good, out], line);
      expect(r.exitCode, what).toBe(1);
      expect(r.stderr, what).toBe(`scrypt (qubes-dedup): ${good} ${AUTH_FAIL}\n`);
      expect(fs.existsSync(out), what).toBe(false);
    }
    const plainOut = path.join(dir, "out-plain");
    const plain = await run(env, ["dec", "-f", good, plainOut], "20250102T030405-1234!vm3/private.img.000!hunter2");
    expect(plain).toMatchObject({ exitCode: 1, stderr: `scrypt (qubes-dedup): ${good} is a qubes-dedup chunk but the passphrase is not a qubes-dedup passphrase; restore with the passphrase file the backup was made with.\n` });
    expect(fs.existsSync(plainOut)).toBe(false);
    // From stdin to stdout: not one byte reaches stdout, the spool is removed.
    const r = await run(env, ["dec", "-", "-"], CHUNK_LINE, flipped);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toBe(`scrypt (qubes-dedup): the input on stdin ${AUTH_FAIL}\n`);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith("qubes-dedup-shim-"))).toEqual([]);
  });
});
