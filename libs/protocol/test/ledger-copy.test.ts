import { describe, expect, it } from "vitest";
import { LedgerCopyError, formatFetchLine, formatLedgerCopy, ledgerCopyKey, macKey, parseFetchOutput, parseLedgerCopyEnvelope, passphraseLine, verifyLedgerCopy } from "../src/index.ts";

const PASS = `qubes-dedup-v1-${"ab".repeat(32)}`;
const key = ledgerCopyKey(PASS);
const body = JSON.stringify({ written: "2026-12-02T00:00:00.000Z", records: [] });

describe("the ledger copy", () => {
  it("is the format line, the mac, the sequence and the body; deterministic, and it verifies", () => {
    const copy = formatLedgerCopy(key, 3, body);
    expect(copy.equals(formatLedgerCopy(key, 3, body))).toBe(true);
    expect(copy.toString()).toMatch(new RegExp(`^qubes-dedup-ledger-copy/1\\nmac [0-9a-f]{64}\\nsequence 3\\n${body.replace(/[[\]{}.]/g, "\\$&")}\\n$`));
    expect(verifyLedgerCopy(key, copy)).toMatchObject({ sequence: 3, body });
    expect(parseLedgerCopyEnvelope(copy).signed.toString()).toBe(`sequence 3\n${body}\n`);
  });

  it("does not verify when a byte, the sequence or the key differs", () => {
    const copy = formatLedgerCopy(key, 3, body).toString();
    const refused = "its signature does not verify with the recovery code";
    expect(() => verifyLedgerCopy(key, Buffer.from(copy.replace("sequence 3", "sequence 9")))).toThrow(refused);
    expect(() => verifyLedgerCopy(key, Buffer.from(copy.replace("2026-12-02", "2026-12-03")))).toThrow(refused);
    expect(() => verifyLedgerCopy(ledgerCopyKey(`qubes-dedup-v1-${"cd".repeat(32)}`), Buffer.from(copy))).toThrow(refused);
  });

  it("uses a key no chunk or header trailer uses", () => {
    expect(key.equals(macKey(passphraseLine(PASS)))).toBe(false);
    expect(key.equals(macKey(PASS))).toBe(false);
    expect(key.equals(macKey(passphraseLine(PASS, { backupId: "20261202T003500-1", path: "qubes.xml.000" })))).toBe(false);
  });

  it("refuses bytes of another shape, saying what is wrong", () => {
    const shape = (text: string) => () => parseLedgerCopyEnvelope(Buffer.from(text));
    expect(shape("hello\n")).toThrow("the data is not a copy of dom0's ledger (fewer than three lines); only `qubes-dedup-agent` in dom0 writes them.");
    expect(shape(`qubes-dedup-ledger-copy/2\nmac ${"0".repeat(64)}\nsequence 1\n{}\n`)).toThrow("the first line is not qubes-dedup-ledger-copy/1");
    expect(shape(`qubes-dedup-ledger-copy/1\nmac ${"0".repeat(64)}\nsequence 0\n{}\n`)).toThrow("no sequence line");
    expect(shape(`qubes-dedup-ledger-copy/1\nmac ${"0".repeat(64)}\nsequence 1\n{}\n{}\n`)).toThrow("the body is not one line");
    expect(shape(`qubes-dedup-ledger-copy/1\nmac 00\nsequence 1\n{}\n`)).toThrow(LedgerCopyError);
  });
});

describe("the answer of qubes-dedup ledger fetch", () => {
  const backup = formatFetchLine({ backup: { snapshot: "1a2b3c4d", header: Buffer.from("version=4\n").toString("base64"), hmac: "" } });
  const copy = formatFetchLine({ copy: { snapshot: "5e6f", bytes: Buffer.from("x").toString("base64") } });
  const end = formatFetchLine({ end: true });
  it("gives the backups' header files and the copy, decoded", () => {
    expect(parseFetchOutput(backup + copy + end)).toEqual({ backups: [{ snapshot: "1a2b3c4d", header: Buffer.from("version=4\n"), hmac: Buffer.alloc(0) }], copy: { snapshot: "5e6f", bytes: Buffer.from("x") } });
    expect(parseFetchOutput(end)).toEqual({ backups: [] });
  });
  it("refuses an answer cut short, one with two copies, lines after the end, or a line of another grammar", () => {
    expect(() => parseFetchOutput(backup + copy)).toThrow("the backup qube's answer ended before its end line (cut short); run the rebuild again.");
    expect(() => parseFetchOutput(copy + copy + end)).toThrow("the backup qube sent two ledger copies");
    expect(() => parseFetchOutput(end + backup)).toThrow("goes on after its end line");
    expect(() => parseFetchOutput(`{"backup":{"snapshot":"x","header":"a","hmac":"b","more":1}}\n${end}`)).toThrow("line 1 of the backup qube's answer is not of the ledger fetch grammar");
  });
});
