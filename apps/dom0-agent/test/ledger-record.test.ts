import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { backedUpQubes, tarMember } from "../src/ledger/backup-xml.ts";
import { chooseBackup, confirmationText, restorePlan } from "../src/ledger/choose.ts";
import { foldSpool, formatLedgerRecord, parseLedgerRecord, type LedgerRecord } from "../src/ledger/record.ts";
import { createdQubes, judgeRun } from "../src/ledger/restore.ts";
import type { JournalEntry } from "@qubes-dedup/shim";

const tag = (c: string) => c.repeat(64);
const XML = `<qubes>
  <domains>
    <domain id="domain-0" class="AdminVM">
      <properties><property name="label">black</property></properties>
      <features><feature name="backup-content">1</feature><feature name="backup-path">dom0-home/user</feature><feature name="backup-size">4096</feature></features>
    </domain>
    <domain id="domain-3" class="AppVM">
      <properties><property name="name">work</property><property name="qid">3</property><property name="template">fedora-41</property><property name="netvm">sys-net</property></properties>
      <features><feature name="backup-content">1</feature><feature name="backup-path">vm3/</feature><feature name="backup-size">200704</feature></features>
    </domain>
    <domain id="domain-4" class="AppVM">
      <properties><property name="name">sys-net</property></properties>
      <features><feature name="backup-content"></feature></features>
    </domain>
  </domains>
</qubes>
`;

/** qubes.xml as qubesd archives it: `tar -Pc` of the file, by GNU tar. */
function xmlTar(xml = XML): Buffer {
  const dir = tmpDir("ledger-xml");
  fs.writeFileSync(path.join(dir, "qubes.xml"), xml);
  return execFileSync("tar", ["-Pc", "--sparse", "-C", dir, "qubes.xml"]);
}

function record(id: string, qubes: [string, string[]][]): LedgerRecord {
  return {
    format: "qubes-dedup-ledger/1",
    backupId: id,
    recorded: "2026-12-02T00:00:00.000Z",
    qubesXml: { bytes: 10240, tag: tag("0") },
    qubes: qubes.map(([name, files], i) => ({ name, path: `vm${i + 1}/`, size: 1, files: files.map((f) => ({ name: f, bytes: 10, chunks: [tag("1")] })) })),
  };
}

describe("folding the shim's spool into a ledger record", () => {
  it("reads qubes.xml out of its chunk and keeps files in stream order", () => {
    const tar = xmlTar();
    expect(tarMember(tar).toString()).toBe(XML);
    expect(backedUpQubes(XML)).toEqual([
      { name: "dom0", path: "dom0-home/user", size: 4096 },
      { name: "work", path: "vm3/", size: 200704 },
    ]);
    const chunks = [`qubes.xml.000 ${tar.length} ${tag("0")}`, `vm3/private.img.000 131072 ${tag("a")}`, `vm3/private.img.001 5000 ${tag("b")}`, `vm3/firewall.xml.000 10240 ${tag("c")}`, `dom0-home/user.000 20480 ${tag("d")}`, ""].join("\n");
    const r = foldSpool({ backupId: "20261202T003500-1234", chunks, qubesXml: tar }, "2026-12-02T00:35:09.000Z");
    expect(r).toEqual({
      format: "qubes-dedup-ledger/1",
      backupId: "20261202T003500-1234",
      recorded: "2026-12-02T00:35:09.000Z",
      qubesXml: { bytes: tar.length, tag: tag("0") },
      qubes: [
        { name: "work", path: "vm3/", size: 200704, files: [{ name: "private.img", bytes: 136072, chunks: [tag("a"), tag("b")] }, { name: "firewall.xml", bytes: 10240, chunks: [tag("c")] }], uses: ["fedora-41", "sys-net"] },
        { name: "dom0", path: "dom0-home/user", size: 4096, files: [{ name: "user", bytes: 20480, chunks: [tag("d")] }], uses: [] },
      ],
      // every qube qubes.xml lists, sys-net too though it is not in the backup
      listed: ["dom0", "work", "sys-net"],
    });
    expect(parseLedgerRecord(formatLedgerRecord(r), "f.json")).toEqual(r);
  });

  it("refuses a spool with a gap, an unknown qube, a missing qube or a cut qubes.xml", () => {
    const tar = xmlTar();
    const head = `qubes.xml.000 ${tar.length} ${tag("0")}\n`;
    const fold = (lines: string, xml = tar) => () => foldSpool({ backupId: "20261202T003500-1234", chunks: head + lines, qubesXml: xml }, "t");
    const home = `dom0-home/user.000 1 ${tag("d")}\n`;
    expect(fold(`vm3/private.img.001 1 ${tag("a")}\n${home}`)).toThrow("the shim's record of backup 20261202T003500-1234 starts vm3/private.img at chunk 1; the backup is not recorded.");
    expect(fold(`vm3/private.img.000 1 ${tag("a")}\nvm3/private.img.002 1 ${tag("a")}\n${home}`)).toThrow("has chunk 2 of vm3/private.img after 1 chunks");
    expect(fold(`vm9/private.img.000 1 ${tag("a")}\n`)).toThrow("the shim recorded vm9/private.img.000 for backup 20261202T003500-1234, which belongs to no qube in its qubes.xml; the backup is not recorded.");
    expect(fold(`vm3/private.img.000 1 ${tag("a")}\n`)).toThrow("the shim recorded no file of qube dom0 for backup 20261202T003500-1234; the backup is not recorded.");
    expect(fold(home, tar.subarray(0, 600))).toThrow("the shim's copy of backup 20261202T003500-1234's qubes.xml is 600 bytes");
    expect(() => parseLedgerRecord("{}", "/x/y.json")).toThrow(/^the ledger file \/x\/y\.json is not a ledger record \(.*\); restore it from the repository's copy or remove it\.$/);
  });
});

describe("choosing the backup a restore takes", () => {
  const older = record("20261201T010000-11", [["work", ["private.img"]], ["vault", ["private.img"]]]);
  const newer = record("20261202T010000-22", [["work", ["private.img", "firewall.xml"]]]);
  const ledger = [newer, older];

  it("takes the newest backup holding the requested qubes, from the ledger, not the request", () => {
    const c = chooseBackup(ledger, { qubes: ["work"], exclude: [] });
    expect(c).toEqual({ record: newer, backupId: newer.backupId, qubes: ["work"] });
    expect(confirmationText(c, "main", "0a1b2c3d")).toBe("Restore work from backup 20261202T010000-22 made 2026-12-02 01:00:00, from snapshot 0a1b2c3d of repository main?");
    expect(restorePlan(c)).toEqual({ backupId: newer.backupId, legacy: false, qubesXmlTag: tag("0"), files: [{ path: "vm1/private.img", qube: "work", name: "private.img", tags: [tag("1")] }, { path: "vm1/firewall.xml", qube: "work", name: "firewall.xml", tags: [tag("1")] }] });
    expect(chooseBackup(ledger, { qubes: ["vault"], exclude: [] }).backupId).toBe(older.backupId);
    expect(chooseBackup(ledger, { qubes: [], exclude: [] }).qubes).toEqual(["work"]);
  });

  it("says older backup only for a backup-id the user named", () => {
    const c = chooseBackup(ledger, { backupId: older.backupId, qubes: ["work"], exclude: [] });
    expect(c.newer).toBe(newer.backupId);
    expect(confirmationText(c, undefined, "abcd1234", "tell")).toBe(
      "restoring work from an older backup, backup 20261201T010000-11 made 2026-12-01 01:00:00, from snapshot abcd1234 of repository (default)\nThis is an older backup: backup 20261202T010000-22 (made 2026-12-02 01:00:00) is newer and holds work.",
    );
    expect(chooseBackup(ledger, { backupId: older.backupId, qubes: ["vault"], exclude: [] }).newer).toBeUndefined();
    expect(restorePlan(c, ["work"])?.files).toEqual([]);
  });

  it("allows a backup from before the ledger with a warning, and refuses the rest", () => {
    const pre = chooseBackup(ledger, { backupId: "20261130T000000-5", qubes: [], exclude: [] });
    expect(pre).toEqual({ backupId: "20261130T000000-5", qubes: [], warning: "backup 20261130T000000-5 was made before dom0 kept its ledger, so its completeness cannot be checked" });
    expect(restorePlan(pre)).toEqual({ backupId: "20261130T000000-5", legacy: true, files: [] });
    expect(chooseBackup([], { qubes: [], exclude: [] })).toMatchObject({ warning: expect.stringContaining("dom0's ledger records no backup yet") });
    expect(restorePlan(chooseBackup([], { qubes: [], exclude: [] }))).toBeUndefined();
    expect(() => chooseBackup(ledger, { backupId: "20261201T120000-9", qubes: [], exclude: [] })).toThrow(
      "backup 20261201T120000-9 is not in dom0's ledger, which records every backup since 20261201T010000-11; list them with `qubes-dedup-agent ledger list` and restore one of those.",
    );
    expect(() => chooseBackup(ledger, { backupId: newer.backupId, qubes: ["vault"], exclude: [] })).toThrow("qube vault is not in backup 20261202T010000-22 according to dom0's ledger (it holds work); request only those qubes.");
    expect(() => chooseBackup(ledger, { qubes: ["work", "vault"], exclude: [] })).toThrow(
      "the newest backup holding all of work, vault is 20261201T010000-11, but work has a newer one; restore the qubes separately, or name backup 20261201T010000-11 to restore that older backup.",
    );
    expect(() => chooseBackup([newer, record("20261201T010000-11", [["vault", ["private.img"]]])], { qubes: ["work", "vault"], exclude: [] })).toThrow(
      "no backup in dom0's ledger holds all of work, vault; restore them from separate backups.",
    );
    expect(() => chooseBackup(ledger, { qubes: [], exclude: ["work"] })).toThrow("nothing is left to restore from backup 20261202T010000-22 after the exclusions; exclude fewer qubes.");
  });
});

describe("judging a finished restore run from the shim's journal", () => {
  const plan = restorePlan(chooseBackup([record("20261202T010000-22", [["work", ["private.img"]], ["vault", ["private.img"]]])], { qubes: [], exclude: [] }))!;
  const journal = (...lines: JournalEntry[]) => ({ dir: "", env: {}, remove: () => {}, journal: () => lines });
  const tool = (exitCode: number, stdoutLines: string[] = []) => ({ exitCode, reason: `qvm-backup-restore exited ${exitCode}; see its messages above.`, stdoutLines });
  const header: JournalEntry = { kind: "header", backupId: "20261202T010000-22" };

  it("passes a complete run, and names renamed qubes as restored", () => {
    const r = judgeRun(plan, journal(header, { kind: "ok", path: "vm1/private.img.000" }, { kind: "ok", path: "vm2/private.img.000" }), tool(0, ["-> Restored work as work-1: private.img (10 bytes)", "-> Restored vault: private.img (10 bytes)"]));
    expect(r).toEqual({ ok: true, incomplete: [], complete: ["work-1", "vault"] });
  });

  it("fails an incomplete run that the tool thought fine, listing the restored qubes to remove", () => {
    const r = judgeRun(plan, journal(header, { kind: "ok", path: "vm1/private.img.000" }), tool(0, ["-> Restored work as work-1: private.img (10 bytes)", "-> Restored vault: private.img (10 bytes)"]));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^qube vault is missing from the stream: none of its files arrived/), incomplete: ["vault"], complete: ["work-1"] });
  });

  it("keeps the shim's sentence, and the tool's reason when no data arrived", () => {
    expect(judgeRun(plan, journal(header, { kind: "fail", reason: "qube work, file private.img: chunk 001 …" }), tool(1)).reason).toBe("qube work, file private.img: chunk 001 …");
    expect(judgeRun(plan, journal(header, { kind: "ok", path: "qubes.xml.000" }), tool(1)).reason).toBe("qvm-backup-restore exited 1; see its messages above.");
    expect(judgeRun(undefined, undefined, tool(0, ["-> Restored work: x"]))).toEqual({ ok: true, incomplete: [], complete: ["work"] });
  });

  it("takes the qubes the run created from qvm-ls before and after, with or without the tool's lines", () => {
    // the stock tool created work (renamed work1) and vault before their data, then failed without a line
    const created = createdQubes(["sys-net", "work"], ["sys-net", "work", "work1", "vault", "mine"], [], ["work", "vault"]);
    expect(created).toEqual([{ name: "work", as: "work1" }, { name: "vault", as: "vault" }]);
    expect(createdQubes([], ["w-2"], ["-> Restored work as w-2: private.img (10 bytes)"], ["work"])).toEqual([{ name: "work", as: "w-2" }]);
    const r = judgeRun(plan, journal(header, { kind: "ok", path: "vm1/private.img.000" }), { ...tool(1), created });
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^qube vault is missing from the stream/), incomplete: ["vault"], complete: ["work1"] });
  });
});
