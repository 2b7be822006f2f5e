import { describe, expect, it } from "vitest";
import { NameError, checkBackupId, checkQubeName, checkRepositoryName, checkSnapshotRef, qubeNameSchema, repositoryNameSchema, snapshotRefSchema } from "../src/index.ts";

// The full table of good and hostile names, checked on both sides of qrexec,
// is apps/dom0-agent/test/name-rules.test.ts; these are the messages.
describe("name checks", () => {
  it("return the name unchanged or throw one sentence naming value and rule", () => {
    expect(checkQubeName("work")).toBe("work");
    expect(() => checkQubeName("a;b", "excluded qube")).toThrow(new NameError('excluded qube "a;b" is not a valid qube name; use a letter followed by up to 30 letters, digits, "_", "." or "-" (not ending in "-dm", not "none", "default" or "Domain-0").'));
    expect(() => checkRepositoryName("../x")).toThrow('repository name "../x" is not valid; use a lowercase letter followed by up to 31 lowercase letters, digits, "_" or "-".');
    expect(() => checkSnapshotRef("-rf")).toThrow(/^snapshot "-rf" is not valid; use the id `qubes-dedup snapshots` shows/);
    expect(() => checkBackupId("x")).toThrow('backup-id "x" is not valid; expected YYYYmmddTHHMMSS-<pid>, as qvm-backup writes it in the backup-header.');
    expect(() => checkSnapshotRef("a".repeat(300))).toThrow(`snapshot "${"a".repeat(80)}…" is not valid`);
  });

  it("have zod schemas with the rule as message", () => {
    expect(qubeNameSchema.safeParse("sys-net").success).toBe(true);
    expect(repositoryNameSchema.safeParse("Main").error?.issues[0]?.message).toBe('use a lowercase letter followed by up to 31 lowercase letters, digits, "_" or "-"');
    expect(snapshotRefSchema.safeParse(42).success).toBe(false);
  });
});
