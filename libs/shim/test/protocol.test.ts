import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TRAILER_SIZE, macKey, makeTrailer } from "@qubes-dedup/protocol/formats";
import { CHUNK_LINE, bytes, run, scratch } from "./helpers.ts";

// Every call goes through the pty harness that drives scrypt exactly as
// qubesd does; so the prompts, the tty and the exit status are all checked.
describe("authenticated pass-through through the Qubes call protocol", () => {
  const data = bytes(300_000, 11);
  const expected = Buffer.concat([data, makeTrailer(macKey(CHUNK_LINE), data)]);

  it("enc and dec with files and - on either side, with and without -f", async () => {
    const { dir, env } = scratch();
    const src = path.join(dir, "src");
    fs.writeFileSync(src, data);
    const encoded: Buffer[] = [];
    // enc: file→file, -→file, file→-, -→-
    for (const [inp, out] of [[src, "f1"], ["-", "f2"], [src, "-"], ["-", "-"]] as const) {
      const outPath = out === "-" ? "-" : path.join(dir, out);
      const r = await run(env, ["enc", inp, outPath], CHUNK_LINE, inp === "-" ? data : undefined);
      expect(r).toMatchObject({ exitCode: 0, stderr: "" });
      encoded.push(out === "-" ? r.stdout : fs.readFileSync(outPath));
      if (out !== "-") expect(r.stdout.length).toBe(0);
    }
    for (const e of encoded) expect(e.equals(expected)).toBe(true);
    expect(fs.existsSync(path.join(process.cwd(), "-"))).toBe(false);
    const enc = path.join(dir, "f1");
    let i = 0;
    for (const force of [[], ["-f"]]) {
      for (const [inp, out] of [[enc, "d"], ["-", "d"], [enc, "-"], ["-", "-"]] as const) {
        const outPath = out === "-" ? "-" : path.join(dir, `d${i++}`);
        const r = await run(env, ["dec", ...force, inp, outPath], CHUNK_LINE, inp === "-" ? expected : undefined);
        expect(r).toMatchObject({ exitCode: 0, stderr: "" });
        const got = out === "-" ? r.stdout : fs.readFileSync(outPath);
        expect(got.equals(data)).toBe(true);
      }
    }
    // The private spool file of `dec -` is gone.
    expect(fs.readdirSync(dir).filter((n) => n.startsWith("qubes-dedup-shim-"))).toEqual([]);
  });

  it("handles an empty input", async () => {
    const { dir, env } = scratch();
    const enc = path.join(dir, "e.enc");
    expect((await run(env, ["enc", "-", enc], CHUNK_LINE, Buffer.alloc(0))).exitCode).toBe(0);
    expect(fs.statSync(enc).size).toBe(TRAILER_SIZE);
    const r = await run(env, ["dec", "-f", enc, "-"], CHUNK_LINE);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it("reads the passphrase from the terminal, not from stdin", async () => {
    const { dir, env } = scratch();
    const src = path.join(dir, "src");
    fs.writeFileSync(src, "x");
    // stdin carries a different passphrase; the output must be keyed by the tty's.
    const r = await run(env, ["enc", src, "-"], CHUNK_LINE, Buffer.from(`backup-header!qubes-dedup-v1-${"11".repeat(32)}\n`));
    expect(r.exitCode).toBe(0);
    expect(r.stdout.equals(Buffer.concat([Buffer.from("x"), makeTrailer(macKey(CHUNK_LINE), Buffer.from("x"))]))).toBe(true);
  });

  it("fails with a clear message when the input file is missing, and creates no output", async () => {
    const { dir, env } = scratch();
    const out = path.join(dir, "o");
    const r = await run(env, ["enc", path.join(dir, "nope"), out], CHUNK_LINE);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`scrypt (qubes-dedup): cannot open ${path.join(dir, "nope")}: ENOENT; check the path and its permissions.\n`);
    expect(fs.existsSync(out)).toBe(false);
  });
});
