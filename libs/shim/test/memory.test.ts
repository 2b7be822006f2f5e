import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { callScrypt } from "@qubes-dedup/qubes-sim";
import { TRAILER_SIZE } from "@qubes-dedup/protocol/formats";
import { CHUNK_LINE, HERE, SHIM, scratch } from "./helpers.ts";

const SIZE = 256 * 1024 * 1024;
const LIMIT_KIB = 150 * 1024;

/** SIZE bytes in 1 MiB blocks, each different, hashed as they are produced. */
function source(hash: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return void this.push(null);
      const b = Buffer.alloc(1 << 20, sent / (1 << 20));
      b.writeUInt32BE(sent >>> 0);
      hash.update(b);
      sent += b.length;
      this.push(b);
    },
  });
}

describe("constant memory", () => {
  it("enc and dec of a 256 MiB chunk stay under 150 MiB of RSS", { timeout: 180_000 }, async () => {
    const { dir, env } = scratch();
    const rssOut = path.join(dir, "rss");
    const wrapped = { ...env, QDD_RSS_CMD: SHIM, QDD_RSS_OUT: rssOut };
    const program = path.join(HERE, "rss-scrypt.py");
    const inHash = createHash("sha256");
    const enc = path.join(dir, "big.000.enc");
    const e = await callScrypt({ program, args: ["enc", "-", enc], passphrase: CHUNK_LINE, env: wrapped, stdin: source(inHash) });
    expect(e).toEqual({ exitCode: 0, stderr: "" });
    expect(fs.statSync(enc).size).toBe(SIZE + TRAILER_SIZE);
    const encRss = Number(fs.readFileSync(rssOut, "utf8"));
    const outHash = createHash("sha256");
    const sink = new PassThrough();
    sink.on("data", (c: Buffer) => outHash.update(c));
    const d = await callScrypt({ program, args: ["dec", "-f", enc, "-"], passphrase: CHUNK_LINE, env: wrapped, stdout: sink });
    expect(d).toEqual({ exitCode: 0, stderr: "" });
    const decRss = Number(fs.readFileSync(rssOut, "utf8"));
    fs.unlinkSync(enc);
    console.log(`peak RSS: enc ${encRss} KiB, dec ${decRss} KiB`);
    expect(outHash.digest("hex")).toBe(inHash.digest("hex"));
    expect(encRss).toBeGreaterThan(0);
    expect(encRss).toBeLessThan(LIMIT_KIB);
    expect(decRss).toBeLessThan(LIMIT_KIB);
  });
});
