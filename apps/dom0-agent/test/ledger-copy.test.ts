import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { macKey, makeTrailer, passphraseLine } from "@qubes-dedup/protocol/formats";
import { genuineBackupId, judgeCopy, ledgerCopy } from "../src/ledger/copy.ts";
import { LEDGER_FORMAT, type LedgerRecord } from "../src/ledger/record.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { PASS, agent } from "./helpers.ts";

// The judgement of a rebuild on bytes: the signed copy, and each backup's
// header files authenticated as the shim writes them.

const record = (backupId: string): LedgerRecord => ({
  format: LEDGER_FORMAT,
  backupId,
  recorded: "2026-12-02T00:00:00.000Z",
  qubesXml: { bytes: 10240, tag: "a".repeat(64) },
  qubes: [{ name: "work", path: "vm3/", size: 1024, files: [{ name: "private.img", bytes: 1024, chunks: ["b".repeat(64)] }] }],
});
/** A backup's header files as the shim makes them with `pass`. */
const headerFiles = (backupId: string, pass = PASS) => {
  const header = Buffer.from(`version=4\nencrypted=True\ncompressed=False\nhmac-algorithm=scrypt\nbackup-id=${backupId}\n`);
  return { snapshot: backupId.slice(9, 15), header, hmac: Buffer.concat([header, makeTrailer(macKey(passphraseLine(pass)), header)]) };
};
const [A, B, C] = ["20261201T100000-11", "20261202T100000-22", "20261203T100000-33"];
const copyOf = (seq: number, ids: string[], pass = PASS) => ({ snapshot: `copy${seq}`, bytes: ledgerCopy(pass, seq, ids.map(record), new Date(0)) });

describe("a rebuild's judgement of the repository's copy", () => {
  it("takes a signed copy that covers every genuine backup; older backups it lacks are listed as genuine", () => {
    const r = judgeCopy(PASS, { backups: [headerFiles(A), headerFiles(B), headerFiles(C)], copy: copyOf(2, [B, C]) }, 0);
    expect(r.copy.records.map((x) => x.backupId)).toEqual([B, C]);
    expect(r.copy).toMatchObject({ sequence: 2, written: "1970-01-01T00:00:00.000Z" });
    expect(r.genuine).toEqual([A, B, C]);
  });

  it("refuses a copy signed with another key, or altered", () => {
    const forged = { snapshot: "f00d", bytes: Buffer.from(copyOf(3, [A, B]).bytes.toString().replace(A, C)) };
    const message = "the repository's copy of dom0's ledger (snapshot f00d) is refused: its signature does not verify with the recovery code, so it was altered or forged; nothing was rebuilt, check the backup qube.";
    expect(() => judgeCopy(PASS, { backups: [], copy: forged }, 0)).toThrow(message);
    expect(() => judgeCopy(PASS, { backups: [], copy: { ...copyOf(3, [A], `qubes-dedup-v1-${"cd".repeat(32)}`), snapshot: "f00d" } }, 0)).toThrow(message);
  });

  it("refuses a copy older than the sequence this dom0 saw, and one that misses a later genuine backup", () => {
    expect(() => judgeCopy(PASS, { backups: [headerFiles(A)], copy: copyOf(1, [A]) }, 2)).toThrow(
      "the repository's copy of dom0's ledger has sequence 1, older than sequence 2 that this dom0 last wrote or saw, so the backup qube served an older copy (a rollback); nothing was rebuilt, check the backup qube.",
    );
    expect(() => judgeCopy(PASS, { backups: [headerFiles(A), headerFiles(B)], copy: copyOf(1, [A]) }, 0)).toThrow(
      `the repository's copy of dom0's ledger (sequence 1) ends at backup ${A}, but the repository holds the later backup ${B} made with this recovery code, so the backup qube served an older copy (a rollback); nothing was rebuilt, check the backup qube.`,
    );
  });

  it("ignores header files that do not authenticate: forged, another passphrase's, or not the header followed by its trailer", () => {
    const fake = { ...headerFiles(C), hmac: Buffer.concat([headerFiles(C).header, Buffer.alloc(48)]) };
    const other = headerFiles(C, `qubes-dedup-v1-${"cd".repeat(32)}`);
    const swapped = { ...headerFiles(C), header: headerFiles(B).header };
    expect(judgeCopy(PASS, { backups: [headerFiles(A), fake, other, swapped], copy: copyOf(1, [A]) }, 0).genuine).toEqual([A]);
    expect(genuineBackupId(PASS, headerFiles(B).header, headerFiles(B).hmac)).toBe(B);
  });

  it("says when the repository has no copy", () => {
    expect(() => judgeCopy(PASS, { backups: [headerFiles(A)] }, 0)).toThrow(
      "the repository holds 1 backups made with this recovery code but no copy of dom0's ledger (deleted, or they predate the copies); nothing was rebuilt, and their restores will not be checked for completeness.",
    );
    expect(() => judgeCopy(PASS, { backups: [] }, 0)).toThrow("the repository holds no copy of dom0's ledger and no backup made with this recovery code; check the repository and the passphrase file, nothing was rebuilt.");
  });
});

describe("ledger push and rebuild on the command line", () => {
  it("a new dom0 without its recovery code is told to write it, and qvm-run missing is one sentence", () => {
    const root = tmpDir("rebuild-cli");
    const file = `${root}/etc/qubes-dedup/passphrase`;
    expect(agent(["ledger", "rebuild", "--root", root])).toMatchObject({
      status: 1,
      stderr: `qubes-dedup-agent: the passphrase file ${file} does not exist; write your recovery code on its first line (\`install -m 600 /dev/null ${file}\`, then edit it) and run the rebuild again.\n`,
    });
    fs.mkdirSync(`${root}/etc/qubes-dedup`, { recursive: true });
    fs.writeFileSync(file, `${PASS}\n`, { mode: 0o600 });
    const env = { ...process.env, PATH: path.dirname(process.execPath) }; // node, and no qvm-run
    const r = agent(["ledger", "rebuild", "--root", root], env);
    expect(r.stderr).toMatch(/^qubes-dedup-agent: ledger rebuild refused: cannot fetch dom0's ledger copy from the backup qube backup \(cannot run qvm-run: .*\); check the backup qube and its repository, then run the rebuild again\.\n$/);
    expect(r.status).toBe(1);
    const p = agent(["ledger", "push", "--root", root], env);
    expect(p.stderr).toMatch(/^qubes-dedup-agent: warning: the repository's copy of dom0's ledger was not updated \(cannot run qvm-run: .*\); it is sent again after the next backup, or now with `qubes-dedup-agent ledger push`\.\n$/);
    expect(p.status).toBe(1);
  });
});
