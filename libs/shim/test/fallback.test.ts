import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK_LINE, HERE, SHIM, bytes, run, scratch } from "./helpers.ts";

// The real Debian scrypt 1.3.1 takes ~5-10 s per call with its default
// parameters, so real-scrypt calls are few; files made here by the plain
// real scrypt use small explicit parameters, which decryption reads from
// the file header.
const REAL = "/usr/bin/scrypt";
const ORDINARY = "20250102T030405-1234!vm3/private.img.000!correct horse battery staple";

function realEnc(input: string, output: string, pass: string): void {
  execFileSync(REAL, ["enc", "--logN", "10", "-r", "8", "-p", "1", "--passphrase", "env:P", input, output], { env: { ...process.env, P: pass } });
}

describe("fallback to the real scrypt", () => {
  it("encrypts an ordinary passphrase with the real scrypt, which the plain real scrypt decrypts", { timeout: 120_000 }, async () => {
    const { dir, env } = scratch();
    const data = bytes(100_000, 9);
    const enc = path.join(dir, "x.000.enc");
    const r = await run(env, ["enc", "-", enc], ORDINARY, data);
    expect(r).toMatchObject({ exitCode: 0, stderr: "" });
    expect(fs.readFileSync(enc).subarray(0, 7).toString("latin1")).toBe("scrypt\0");
    const plain = execFileSync(REAL, ["dec", "--passphrase", "env:P", enc], { env: { ...process.env, P: ORDINARY }, maxBuffer: 1 << 24 });
    expect(plain.equals(data)).toBe(true);
  });

  it("decrypts real scrypt files (ordinary and project passphrases, files and -), passing errors back", { timeout: 60_000 }, async () => {
    const { dir, env } = scratch();
    const data = bytes(50_000, 4);
    const src = path.join(dir, "src");
    fs.writeFileSync(src, data);
    const ordinary = path.join(dir, "o.enc");
    const project = path.join(dir, "p.enc");
    realEnc(src, ordinary, ORDINARY);
    realEnc(src, project, CHUNK_LINE);
    // file → file with an ordinary passphrase
    const out1 = path.join(dir, "out1");
    expect(await run(env, ["dec", "-f", ordinary, out1], ORDINARY)).toMatchObject({ exitCode: 0, stderr: "" });
    expect(fs.readFileSync(out1).equals(data)).toBe(true);
    // file → - with a project passphrase: old backup made with real scrypt; stdout, no file named "-"
    const r2 = await run({ ...env }, ["dec", project, "-"], CHUNK_LINE);
    expect(r2).toMatchObject({ exitCode: 0, stderr: "" });
    expect(r2.stdout.equals(data)).toBe(true);
    expect(fs.existsSync("-")).toBe(false);
    // - → file with a project passphrase: the spooled stdin goes to the real scrypt
    const out3 = path.join(dir, "out3");
    expect(await run(env, ["dec", "-f", "-", out3], CHUNK_LINE, fs.readFileSync(project))).toMatchObject({ exitCode: 0, stderr: "" });
    expect(fs.readFileSync(out3).equals(data)).toBe(true);
    // the real scrypt's error text and status come back unchanged
    const out4 = path.join(dir, "out4");
    const r4 = await run(env, ["dec", "-f", ordinary, out4], "wrong passphrase");
    expect(r4).toMatchObject({ exitCode: 1, stderr: "scrypt: Passphrase is incorrect\n" });
    expect(fs.existsSync(out4)).toBe(false);
  });

  it("hands every other call shape to the real scrypt unchanged", () => {
    const { env } = scratch();
    const v = spawnSync(SHIM, ["--version"], { env, encoding: "utf8" });
    expect(v.status).toBe(0);
    expect(v.stdout).toBe(execFileSync(REAL, ["--version"], { encoding: "utf8" }));
    const u = spawnSync(SHIM, ["frobnicate"], { env, encoding: "utf8" });
    const ru = spawnSync(REAL, ["frobnicate"], { encoding: "utf8" });
    expect(u.status).toBe(ru.status);
    expect(u.stderr).toBe(ru.stderr);
  });

  it("uses $QUBES_DEDUP_REAL_SCRYPT and refuses to call itself", () => {
    const { env } = scratch();
    const r = spawnSync(SHIM, ["--version"], { env: { ...env, QUBES_DEDUP_REAL_SCRYPT: SHIM }, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`scrypt (qubes-dedup): the real scrypt ${SHIM} is the qubes-dedup shim itself; set QUBES_DEDUP_REAL_SCRYPT to the real binary (e.g. /usr/bin/scrypt).\n`);
    const m = spawnSync(SHIM, ["--version"], { env: { ...env, QUBES_DEDUP_REAL_SCRYPT: "/nonexistent/scrypt" }, encoding: "utf8" });
    expect(m.stderr).toBe("scrypt (qubes-dedup): the real scrypt was not found at /nonexistent/scrypt; install scrypt or set QUBES_DEDUP_REAL_SCRYPT to its path.\n");
  });

  it("re-prompts on a mismatched confirmation like scrypt and gives up after three", () => {
    const { dir, env } = scratch();
    const out = path.join(dir, "o");
    const lines = (...l: string[]) => spawnSync("python3", [path.join(HERE, "tty-lines.py"), ...l, "--", "scrypt", "enc", "/dev/null", out], { env, encoding: "utf8" });
    const ok = lines(CHUNK_LINE, "typo", CHUNK_LINE, CHUNK_LINE);
    expect(ok.stderr).toBe("Please enter passphrase: Please confirm passphrase: Passwords mismatch, please try again\nPlease enter passphrase: Please confirm passphrase: ");
    expect(ok.status).toBe(0);
    expect(fs.statSync(out).size).toBe(48);
    fs.unlinkSync(out);
    const bad = lines("a", "b", "a", "b", "a", "b");
    expect(bad.status).toBe(1);
    expect(bad.stderr.endsWith("scrypt (qubes-dedup): the passphrases did not match 3 times; run the command again and type the same passphrase twice.\n")).toBe(true);
    expect(fs.existsSync(out)).toBe(false);
  });
});
