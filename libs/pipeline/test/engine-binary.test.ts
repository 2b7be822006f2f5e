import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { engineBinary, engineVersion, parseEngineVersion } from "../src/index.ts";

describe("engine binary", () => {
  it("takes QUBES_DEDUP_RESTIC / QUBES_DEDUP_BORG when set and not blank, else the name on PATH", () => {
    expect(engineBinary("restic", {})).toBe("restic");
    expect(engineBinary("borg", { QUBES_DEDUP_BORG: " " })).toBe("borg");
    expect(engineBinary("restic", { QUBES_DEDUP_RESTIC: "/opt/restic-0.18.0", QUBES_DEDUP_BORG: "/opt/borg" })).toBe("/opt/restic-0.18.0");
    expect(engineBinary("borg", { QUBES_DEDUP_RESTIC: "/opt/restic", QUBES_DEDUP_BORG: "/opt/borg-1.4.0" })).toBe("/opt/borg-1.4.0");
  });

  it("reads the version from each engine's own version line", () => {
    expect(parseEngineVersion("restic", "restic 0.18.0 compiled with go1.24.4 on linux/amd64\n")).toBe("0.18.0");
    expect(parseEngineVersion("restic", "restic 0.14.0 compiled with go1.19.8 on linux/amd64")).toBe("0.14.0");
    expect(parseEngineVersion("borg", "borg 1.4.0\n")).toBe("1.4.0");
    expect(parseEngineVersion("borg", "borg 1.2.4")).toBe("1.2.4");
    expect(parseEngineVersion("borg", "restic 0.18.0 compiled with go1.24.4")).toBeUndefined();
    expect(parseEngineVersion("restic", "usage: restic [command]")).toBeUndefined();
  });

  it.each(["restic", "borg"] as const)("%s: reports the version of the binary in use, and says what to fix when it is missing or not the engine", async (kind) => {
    const v = await engineVersion(kind);
    expect(v.problem).toBeUndefined();
    expect(v.version).toMatch(/^\d+\.\d+\.\d+/);
    const variable = kind === "restic" ? "QUBES_DEDUP_RESTIC" : "QUBES_DEDUP_BORG";
    const pkg = kind === "borg" ? "borgbackup" : "restic";
    expect(await engineVersion(kind, { ...process.env, [variable]: "/nonexistent/engine" })).toEqual({
      kind,
      binary: "/nonexistent/engine",
      problem: `${kind} was not found at /nonexistent/engine; install it (apt-get install ${pkg}) or point ${variable} at a ${kind} executable.`,
    });
    const other = path.join(tmpDir("qdd-engine-"), "not-an-engine");
    fs.writeFileSync(other, "#!/bin/sh\necho 'something else 1.0'\n", { mode: 0o755 });
    expect((await engineVersion(kind, { ...process.env, [variable]: other })).problem).toBe(`${other} did not report a ${kind} version (something else 1.0); check that it is ${kind}.`);
  });
});
