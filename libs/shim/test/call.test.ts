import { describe, expect, it } from "vitest";
import { isProjectPassphraseLine, newProjectPassphrase, parseCall, realScryptArgs } from "../src/index.ts";

describe("call shapes", () => {
  it("accepts exactly Qubes' enc/dec calls", () => {
    expect(parseCall(["enc", "-", "/tmp/a.000.enc"])).toEqual({ mode: "enc", force: false, input: "-", output: "/tmp/a.000.enc" });
    expect(parseCall(["dec", "-f", "in", "out"])).toEqual({ mode: "dec", force: true, input: "in", output: "out" });
    expect(parseCall(["dec", "-", "-"])).toEqual({ mode: "dec", force: false, input: "-", output: "-" });
  });

  it("leaves every other shape to the real scrypt", () => {
    for (const argv of [[], ["info", "x"], ["enc", "x"], ["enc", "-P", "a", "b"], ["enc", "--logN", "10", "a", "b"], ["dec", "-t", "1", "a"], ["--version"], ["enc", "a", "b", "c"], ["dec", "-f", "-v", "b"], ["enc", "", "b"]]) {
      expect(parseCall(argv)).toBeNull();
    }
  });

  it("builds the real scrypt's argv with env: passphrase and stdout for output -", () => {
    expect(realScryptArgs(parseCall(["dec", "-f", "a", "-"])!, "V")).toEqual(["dec", "-f", "--passphrase", "env:V", "a"]);
    expect(realScryptArgs(parseCall(["enc", "-", "b"])!, "V")).toEqual(["enc", "--passphrase", "env:V", "-", "b"]);
  });
});

describe("project passphrases", () => {
  it("are recognised as the last !-field of the line", () => {
    const p = newProjectPassphrase();
    expect(p).toMatch(/^qubes-dedup-v1-[0-9a-f]{64}$/);
    expect(newProjectPassphrase()).not.toBe(p);
    expect(isProjectPassphraseLine(`backup-header!${p}`)).toBe(true);
    expect(isProjectPassphraseLine(`20250101T000000-1!vm3/private.img.000!${p}`)).toBe(true);
    expect(isProjectPassphraseLine(p)).toBe(true);
    expect(isProjectPassphraseLine(`backup-header!${p}x`)).toBe(false);
    expect(isProjectPassphraseLine(`backup-header!${p.toUpperCase()}`)).toBe(false);
    expect(isProjectPassphraseLine(`${p}!something`)).toBe(false);
    expect(isProjectPassphraseLine("backup-header!hunter2")).toBe(false);
  });
});
