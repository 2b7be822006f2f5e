import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { engineBinary, engineVersion } from "@qubes-dedup/pipeline";
import { cli, scratch } from "./harness.ts";

describe("qubes-dedup engines", () => {
  it("lists both engines with the version and binary in use, and which repositories need them", async () => {
    const s = scratch();
    expect((await cli(s, ["repo", "add", "default", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile])).status).toBe(0);
    const restic = await engineVersion("restic");
    const borg = await engineVersion("borg");
    const r = await cli(s, ["engines", "--json"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual([
      { kind: "restic", binary: engineBinary("restic"), version: restic.version, usedBy: ["default"], blocking: false },
      { kind: "borg", binary: engineBinary("borg"), version: borg.version, usedBy: [], blocking: false },
    ]);
    const text = await cli(s, ["engines"]);
    expect(text.stdout.toString()).toBe(
      `restic  ${restic.version!.padEnd(9)}${engineBinary("restic")}  (repositories: default)\nborg    ${borg.version!.padEnd(9)}${engineBinary("borg")}  (no repository uses it)\n`,
    );
  });

  it("exits 1 only when an engine a registered repository uses is missing, saying what to install", async () => {
    const s = scratch();
    expect((await cli(s, ["repo", "add", "b", "--engine", "borg", "--location", path.join(s.dir, "borg"), "--password-file", s.passwordFile])).status).toBe(0);
    const missingRestic = await cli(s, ["engines"], { env: { ...s.env, QUBES_DEDUP_RESTIC: "/nonexistent/restic" } });
    expect(missingRestic.status).toBe(0);
    const missingBorg = await cli(s, ["engines"], { env: { ...s.env, QUBES_DEDUP_BORG: "/nonexistent/borg" } });
    expect(missingBorg.status).toBe(1);
    expect(missingBorg.stdout.toString().split("\n")[1]).toBe(
      "borg    missing  borg was not found at /nonexistent/borg; install it (apt-get install borgbackup) or point QUBES_DEDUP_BORG at a borg executable. (repositories: b)",
    );
    expect(fs.existsSync(path.join(s.dir, "borg", "config"))).toBe(true);
  });
});
