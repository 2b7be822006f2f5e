import { describe, expect, it } from "vitest";
import {
  completeness,
  formatChunkRecord,
  formatJournalEntry,
  formatRestorePlan,
  headerBackupId,
  judgeChunk,
  lineFields,
  parseChunkRecords,
  parseJournal,
  parseRestorePlan,
  splitChunkPath,
  type RestorePlan,
} from "../src/ledger-format.ts";

const tag = (c: string) => c.repeat(64);
const ID = "20261202T003500-1234";
const PLAN: RestorePlan = {
  backupId: ID,
  legacy: false,
  files: [
    { path: "vm3/private.img", qube: "work", name: "private.img", tags: [tag("a"), tag("b"), tag("c")] },
    { path: "vm3/firewall.xml", qube: "work", name: "firewall.xml", tags: [tag("d")] },
    { path: "vm4/private.img", qube: "vault", name: "private.img", tags: [tag("e")] },
  ],
};
const AFTER = "; the backup qube served an incomplete or altered stream, restore from an intact copy of the backup.";

describe("spool and plan formats", () => {
  it("writes and reads chunk lines byte for byte, and refuses a damaged spool", () => {
    const line = formatChunkRecord({ path: "vm3/private.img.001", dataLength: 131072, tag: tag("a") });
    expect(line).toBe(`vm3/private.img.001 131072 ${"a".repeat(64)}\n`);
    expect(parseChunkRecords(line + line.replace("001", "002"))).toEqual([
      { path: "vm3/private.img.001", dataLength: 131072, tag: tag("a") },
      { path: "vm3/private.img.002", dataLength: 131072, tag: tag("a") },
    ]);
    expect(() => parseChunkRecords(line.slice(0, -1))).toThrow("the spool's last chunk line is cut off; the backup's record is incomplete.");
    expect(() => parseChunkRecords(`../etc/passwd.000 1 ${tag("a")}\n`)).toThrow('line 1 of the spool is not "<path> <bytes> <tag>"; the backup\'s record is damaged.');
    expect(() => parseChunkRecords(`vm3/private.img.000 1 ${tag("A")}\n`)).toThrow(/line 1 of the spool/);
  });

  it("splits chunk paths and passphrase lines as Qubes builds them", () => {
    expect(splitChunkPath("vm12/root.img.103")).toEqual({ file: "vm12/root.img", index: 103 });
    expect(splitChunkPath("dom0-home/user.000")).toEqual({ file: "dom0-home/user", index: 0 });
    expect(splitChunkPath("qubes.xml.000")).toEqual({ file: "qubes.xml", index: 0 });
    for (const bad of ["vm3/private.img", "vm3/../x.000", "/vm3/a.000", "vm3/a/b.000", "vm3/a.0001"]) expect(splitChunkPath(bad), bad).toBeNull();
    expect(lineFields("backup-header!secret")).toEqual({ kind: "header" });
    expect(lineFields(`${ID}!vm3/private.img.000!secret`)).toEqual({ kind: "chunk", backupId: ID, path: "vm3/private.img.000" });
    expect(lineFields("hunter2")).toBeNull();
    expect(headerBackupId(`version=4\nencrypted=True\nbackup-id=${ID}\n`)).toBe(ID);
    expect(headerBackupId("version=4\nbackup-id=../x\n")).toBeUndefined();
  });

  it("round-trips the plan and refuses any other shape", () => {
    expect(parseRestorePlan(formatRestorePlan(PLAN))).toEqual(PLAN);
    expect(() => parseRestorePlan("{")).toThrow("the restore plan is not valid JSON; run the restore again from the dom0 agent.");
    expect(() => parseRestorePlan(JSON.stringify({ ...PLAN, v: 1, backupId: "x" }))).toThrow("the restore plan does not have the documented shape; run the restore again from the dom0 agent.");
  });

  it("round-trips journal entries and ignores a cut-off last line", () => {
    const text = formatJournalEntry({ kind: "header", backupId: ID }) + formatJournalEntry({ kind: "ok", path: "vm3/private.img.000" }) + formatJournalEntry({ kind: "fail", reason: "two\nlines" });
    expect(text).toBe(`header ${ID}\nok vm3/private.img.000\nfail two lines\n`);
    expect(parseJournal(`${text}ok vm3/priv`)).toEqual([{ kind: "header", backupId: ID }, { kind: "ok", path: "vm3/private.img.000" }, { kind: "fail", reason: "two lines" }]);
  });
});

describe("judging a restore's chunks against the plan", () => {
  const ok = (...paths: string[]) => paths;

  it("accepts exactly the recorded chunks in order", () => {
    const order = ["vm3/private.img.000", "vm3/private.img.001", "vm3/private.img.002", "vm3/firewall.xml.000", "vm4/private.img.000"];
    const tags = [tag("a"), tag("b"), tag("c"), tag("d"), tag("e")];
    order.forEach((p, i) => expect(judgeChunk(PLAN, ["qubes.xml.000", ...order.slice(0, i)], p, tags[i]!), p).toBeNull());
    expect(completeness(PLAN, order)).toEqual({ complete: true, completeQubes: ["work", "vault"], incompleteQubes: [] });
  });

  it("names the qube and the file for every kind of tampering", () => {
    expect(judgeChunk(PLAN, ok(), "vm3/private.img.000", tag("b"))).toBe(`qube work, file private.img: chunk 000 is not the chunk dom0 backed up (replaced, swapped or from another backup)${AFTER}`);
    expect(judgeChunk(PLAN, ok("vm3/private.img.000"), "vm3/private.img.002", tag("c"))).toBe(`qube work, file private.img: chunk 002 arrived where chunk 001 of 3 was expected (chunks missing, swapped or repeated)${AFTER}`);
    expect(judgeChunk(PLAN, ok("vm3/private.img.000", "vm3/private.img.001"), "vm3/firewall.xml.000", tag("d"))).toBe(
      `qube work, file private.img: only 2 of 3 chunks arrived, its last chunks are missing (qube work's chunk 000 of firewall.xml arrived instead)${AFTER}`,
    );
    expect(judgeChunk(PLAN, ok(), "vm4/private.img.000", tag("e"))).toBe(`qube work is missing from the stream: none of its files arrived, the first one is private.img (qube vault's chunk 000 of private.img arrived instead)${AFTER}`);
    const work = ok("vm3/private.img.000", "vm3/private.img.001", "vm3/private.img.002");
    expect(judgeChunk(PLAN, work, "vm4/private.img.000", tag("e"))).toBe(`qube work, file firewall.xml is missing from the stream (qube vault's chunk 000 of private.img arrived instead)${AFTER}`);
    expect(judgeChunk(PLAN, work, "vm3/private.img.000", tag("a"))).toBe(`qube work, file private.img: chunk 000 arrived again after the file was complete${AFTER}`);
    expect(judgeChunk(PLAN, work, "vm3/extra.img.000", tag("a"))).toBe(`qube work: the stream holds the file extra.img, which backup ${ID} did not contain according to dom0's ledger${AFTER}`);
    expect(judgeChunk(PLAN, work, "vm9/private.img.000", tag("a"))).toBe(`the stream holds vm9/private.img.000, a file of no qube that backup ${ID} holds for this restore according to dom0's ledger (an added qube)${AFTER}`);
    const all = [...work, "vm3/firewall.xml.000", "vm4/private.img.000"];
    expect(judgeChunk(PLAN, all, "vm4/private.img.001", tag("e"))).toBe(`qube vault, file private.img: chunk 001 arrived after every recorded chunk had been restored (a repeated or added chunk)${AFTER}`);
  });

  it("says what is missing at the end of the stream, and which qubes are complete", () => {
    expect(completeness(PLAN, ["vm3/private.img.000"])).toEqual({
      complete: false,
      missing: `qube work, file private.img: only 1 of 3 chunks arrived, its last chunks are missing${AFTER}`,
      completeQubes: [],
      incompleteQubes: ["work", "vault"],
    });
    const work = ["vm3/private.img.000", "vm3/private.img.001", "vm3/private.img.002", "vm3/firewall.xml.000"];
    expect(completeness(PLAN, work)).toEqual({ complete: false, missing: `qube vault is missing from the stream: none of its files arrived, the first one is private.img${AFTER}`, completeQubes: ["work"], incompleteQubes: ["vault"] });
    expect(completeness({ ...PLAN, legacy: true }, [])).toMatchObject({ complete: true });
    expect(judgeChunk({ ...PLAN, legacy: true }, [], "vm9/x.000", tag("a"))).toBeNull();
  });
});
