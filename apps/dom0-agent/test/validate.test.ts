import { describe, expect, it } from "vitest";
import { ValidationError, backupArgs, qubeName, repoName, restoreArgs, restoreLocation, snapshotId } from "../src/index.ts";

const HOSTILE = ["a;rm -rf /", "a b", "a\nb", "$(id)", "`id`", "a|b", "a&b", "a>b", "-rf", "--repo", "", "a".repeat(32), "é", "a'b", 'a"b', "a\\b", "a/b", "*"];

describe("names that reach a dom0 command line", () => {
  it("accepts Qubes' qube names and rejects everything else", () => {
    for (const ok of ["work", "sys-net", "a", "A1_b.c-d", "a".repeat(31), "dom0"]) expect(qubeName(ok)).toBe(ok);
    for (const bad of [...HOSTILE, "1abc", "_a", "disp-dm", "none", "default", "Domain-0"]) expect(() => qubeName(bad), bad).toThrow(ValidationError);
    expect(() => qubeName("a;b")).toThrow('qube name "a;b" is not a valid qube name; use a letter followed by up to 30 letters, digits, "_", "." or "-" (not ending in "-dm", not "none", "default" or "Domain-0").');
  });

  it("accepts repository names and snapshot ids, rejects hostile ones", () => {
    for (const ok of ["main", "off-site_2", "a", "a".repeat(32)]) expect(repoName(ok)).toBe(ok);
    for (const bad of [...HOSTILE.filter((h) => h !== "a".repeat(32)), ".hidden", "off-site.2", "0", "Main", "a".repeat(33)]) expect(() => repoName(bad), bad).toThrow(ValidationError);
    for (const ok of ["0a1b2c3d", "f".repeat(64), "qubes-2025-01-02T03:04:05", "qubes-dedup,qd-run:20250102T030405678Z-0a1b2c3d,qd-data", "a".repeat(128)]) expect(snapshotId(ok)).toBe(ok);
    for (const bad of [...HOSTILE.filter((h) => h !== "a".repeat(32)), "a".repeat(129), ":x", ",x"]) expect(() => snapshotId(bad), bad).toThrow(ValidationError);
  });

  it("builds qvm-backup and qvm-backup-restore argv from fixed words and validated names", () => {
    expect(backupArgs({ destVm: "backup", passphraseFile: "/etc/qubes-dedup/passphrase", repo: "main", exclude: ["sys-net", "sys-usb"], qubes: ["work", "vault"] })).toEqual([
      "--yes", "--no-compress", "--passphrase-file", "/etc/qubes-dedup/passphrase", "--dest-vm", "backup",
      "--exclude", "sys-net", "--exclude", "sys-usb", "qubes-dedup ingest --repo main", "work", "vault",
    ]);
    expect(backupArgs({ destVm: "backup", passphraseFile: "F", exclude: [], qubes: [] })).toEqual(["--yes", "--no-compress", "--passphrase-file", "F", "--dest-vm", "backup", "qubes-dedup ingest"]);
    expect(restoreArgs({ snapshot: "0a1b2c3d", sourceVm: "backup", passphraseFile: "F", repo: "main", verifyOnly: true, conflicts: "rename", exclude: ["x"], qubes: ["work"] })).toEqual([
      "-d", "backup", "-p", "F", "--verify-only", "--rename-conflicting", "-x", "x", "qubes-dedup dump --repo main 0a1b2c3d", "work",
    ]);
    expect(() => backupArgs({ destVm: "backup", passphraseFile: "F", repo: "m; reboot", exclude: [], qubes: [] })).toThrow(ValidationError);
    expect(() => restoreArgs({ snapshot: "-x", sourceVm: "backup", passphraseFile: "F", verifyOnly: false, exclude: [], qubes: [] })).toThrow(ValidationError);
  });

  it("names the qubes of a restore in its location (qubes-dedup dump --qubes), validated like every name", () => {
    expect(restoreLocation({ snapshot: "0a1b2c3d" })).toBe("qubes-dedup dump 0a1b2c3d");
    expect(restoreLocation({ repo: "main", snapshot: "0a1b2c3d", qubes: ["work", "dom0", "sys-net"] })).toBe("qubes-dedup dump --repo main 0a1b2c3d --qubes work,dom0,sys-net");
    expect(restoreArgs({ snapshot: "0a1b2c3d", sourceVm: "backup", passphraseFile: "F", verifyOnly: false, exclude: [], qubes: ["work"], dumpQubes: ["work"] })).toEqual([
      "-d", "backup", "-p", "F", "qubes-dedup dump 0a1b2c3d --qubes work", "work",
    ]);
    for (const bad of [...HOSTILE, "a,b", "1abc", "Domain-0"]) expect(() => restoreLocation({ snapshot: "0a1b2c3d", qubes: ["work", bad] }), bad).toThrow(ValidationError);
    expect(() => restoreLocation({ snapshot: "0a1b2c3d", qubes: ["a,b"] })).toThrow('qube name "a,b" is not a valid qube name;');
    expect(() => restoreLocation({ snapshot: "0a1b2c3d", qubes: [] })).toThrow("the restore names no qube to send; name at least one, or leave the list out to send them all.");
    expect(() => restoreLocation({ snapshot: "0a1b2c3d", qubes: ["work", "work"] })).toThrow('qube "work" is named twice in the restore\'s list; name each qube once.');
  });
});
