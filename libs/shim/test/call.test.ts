import { describe, expect, it } from "vitest";
import { parseCall, realScryptArgs } from "../src/index.ts";

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
