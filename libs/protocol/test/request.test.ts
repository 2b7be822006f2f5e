import { describe, expect, it } from "vitest";
import { MAX_REQUEST_BYTES, isRestorePointRequest, parseBackupRequest, parseRestorePointRequest, parseRestoreRequest, RequestError } from "../src/index.ts";

const b = (s: string | Buffer) => (typeof s === "string" ? Buffer.from(s) : s);
const backup = (s: string | Buffer) => parseBackupRequest(b(s));
const restore = (s: string | Buffer) => parseRestoreRequest(b(s));

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RequestError);
    return (e as Error).message;
  }
  throw new Error("accepted a request that should be refused");
}

describe("backup request grammar", () => {
  it("accepts the documented shapes, with or without the newline", () => {
    expect(backup("{}\n")).toEqual({ qubes: [], exclude: [] });
    expect(backup('{"repo":"main","qubes":["work","vault"],"exclude":["sys-net"]}')).toEqual({ repo: "main", qubes: ["work", "vault"], exclude: ["sys-net"] });
    expect(backup(`{"qubes":["a${"b".repeat(30)}"]}\n`).qubes).toEqual([`a${"b".repeat(30)}`]);
  });

  it("takes \"changed\" (only the qubes that changed) and, with it, \"full\"; both booleans, absent when false", () => {
    expect(backup('{"changed":true}')).toEqual({ qubes: [], exclude: [], changed: true });
    expect(backup('{"changed":true,"full":true,"exclude":["sys-net"]}')).toEqual({ qubes: [], exclude: ["sys-net"], changed: true, full: true });
    expect(backup('{"changed":false}')).toStrictEqual({ qubes: [], exclude: [] });
    expect(refused(() => backup('{"full":true}'))).toBe('"full" needs "changed": true (a backup without "changed" sends every selected qube anyway).');
    expect(refused(() => backup('{"changed":"yes"}'))).toContain('"changed" is invalid');
    expect(refused(() => backup('{"full":1,"changed":true}'))).toContain('"full" is invalid');
  });

  it.each([
    ['{"qubes":["work;reboot"]}', 'qube "work;reboot" is not a valid qube name'],
    ['{"qubes":["$(id)"]}', 'qube "$(id)" is not a valid qube name'],
    ['{"qubes":["`id`"]}', "is not a valid qube name"],
    ['{"qubes":["a b"]}', 'qube "a b" is not a valid qube name'],
    ['{"qubes":["a\\nb"]}', 'qube "a\\nb" is not a valid qube name'],
    ['{"qubes":["a\\u0000b"]}', "is not a valid qube name"],
    ['{"qubes":["-rf"]}', 'qube "-rf" is not a valid qube name'],
    ['{"qubes":["../../etc"]}', "is not a valid qube name"],
    [`{"qubes":["a${"b".repeat(31)}"]}`, "is not a valid qube name"],
    ['{"qubes":["sys-net-dm"]}', "is not a valid qube name"],
    ['{"qubes":["default"]}', "is not a valid qube name"],
    ['{"exclude":["x|y"]}', 'excluded qube "x|y" is not a valid qube name'],
    ['{"repo":"main;rm -rf /"}', 'repository name "main;rm -rf /" is not valid'],
    ['{"repo":"../x"}', 'repository name "../x" is not valid'],
    ['{"repo":"--password-file=/etc/shadow"}', "is not valid"],
    ['{"qubes":["work","work"]}', 'qube "work" is listed twice'],
    ['{"qubes":["work"],"exclude":["work"]}', 'qube "work" is both requested and excluded'],
    ['{"qubes":"work"}', '"qubes" is invalid'],
    ['{"qubes":[1]}', '"qubes.0" is invalid'],
    ['{"repo":null}', '"repo" is invalid'],
    ['{"location":"sh -c id"}', 'unknown key(s) "location"'],
    ['{"destVm":"sys-net"}', 'unknown key(s) "destVm"'],
    ['{"__proto__":{"x":1}}', 'unknown key(s) "__proto__"'],
    ['{"snapshot":"abcdef12"}', 'unknown key(s) "snapshot"'],
    ["[]", "the request is invalid"],
    ['"x"', "the request is invalid"],
    ["{", "the request is not valid JSON"],
    ["", "the request is empty"],
    ["\n", "the request is empty"],
    ["{}\n{}\n", "more than one line"],
    ['{"qubes":["work"]}\nrm -rf /', "more than one line"],
    ["{}\r\n", "carriage return"],
  ])("refuses %j", (input, text) => {
    expect(refused(() => backup(input))).toContain(text);
  });

  it("refuses NUL bytes, invalid UTF-8, too many names and more than 4096 bytes", () => {
    expect(refused(() => backup(Buffer.from('{"qubes":["wo\0rk"]}')))).toBe("the request contains a NUL byte; send one JSON line of text.");
    expect(refused(() => backup(Buffer.from([0x7b, 0xff, 0x7d])))).toBe("the request is not valid UTF-8; send one JSON line of text.");
    const many = JSON.stringify({ qubes: Array.from({ length: 101 }, (_, i) => `q${i}`) });
    expect(refused(() => backup(many))).toContain("at most 100 qube names");
    const long = `{"repo":"main"${" ".repeat(MAX_REQUEST_BYTES - 15)}}`;
    expect(Buffer.byteLength(long)).toBe(MAX_REQUEST_BYTES);
    expect(backup(long)).toEqual({ repo: "main", qubes: [], exclude: [] });
    expect(refused(() => backup(`${long}\n`))).toBe("the request is longer than 4096 bytes; send one short JSON line.");
  });

  it("judges the bytes as sent: a byte order mark or any other byte before { is refused", () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("{}\n")]);
    expect(refused(() => backup(bom))).toBe("the request starts with a byte order mark; send one JSON line of plain UTF-8.");
    expect(refused(() => backup(Buffer.from([0xc2, 0xa0, 0x7b, 0x7d])))).toBe("the request is not valid JSON; send one JSON object on one line.");
    expect(refused(() => backup("\u000b{}"))).toBe("the request is not valid JSON; send one JSON object on one line.");
    expect(refused(() => backup("x{}"))).toBe("the request is not valid JSON; send one JSON object on one line.");
    expect(backup(" {}")).toEqual({ qubes: [], exclude: [] });
  });
});

describe("restore request grammar", () => {
  it("accepts restic ids and borg archive names with the documented options", () => {
    expect(restore('{"snapshot":"0a1b2c3d"}')).toEqual({ snapshot: "0a1b2c3d", qubes: [], verifyOnly: false, paranoid: false });
    expect(restore('{"snapshot":"0a1b2c3d","paranoid":true}').paranoid).toBe(true);
    expect(restore(`{"repo":"main","snapshot":"${"f".repeat(64)}","qubes":["work"],"verifyOnly":true,"conflicts":"rename"}\n`)).toEqual({
      repo: "main", snapshot: "f".repeat(64), qubes: ["work"], verifyOnly: true, paranoid: false, conflicts: "rename",
    });
    expect(restore('{"snapshot":"host-2026-11-30T10:00:00","conflicts":"skip"}').conflicts).toBe("skip");
    expect(restore('{"snapshot":"qubes-dedup,qd-run:20250102T030405678Z-0a1b2c3d,qd-data"}').snapshot).toBe("qubes-dedup,qd-run:20250102T030405678Z-0a1b2c3d,qd-data");
    expect(restore(`{"snapshot":"${"a".repeat(128)}"}`).snapshot).toHaveLength(128);
    // The backup the user chose, checked by dom0 against its ledger.
    expect(restore('{"snapshot":"0a1b2c3d","backupId":"20261202T003500-1234"}').backupId).toBe("20261202T003500-1234");
    expect(() => restore('{"snapshot":"0a1b2c3d","backupId":"../x"}')).toThrow('backup-id "../x" is not valid; expected YYYYmmddTHHMMSS-<pid>, as qvm-backup writes it in the backup-header.');
  });

  it.each([
    ["{}", '"snapshot" is invalid'],
    ['{"snapshot":"../../etc/shadow"}', 'snapshot "../../etc/shadow" is not valid'],
    ['{"snapshot":"abc/../def"}', "is not valid"],
    ['{"snapshot":"/etc/passwd"}', "is not valid"],
    ['{"snapshot":"-rf"}', 'snapshot "-rf" is not valid'],
    ['{"snapshot":"0a1b2c3d; id"}', "is not valid"],
    ['{"snapshot":"0a1b2c3d\\n--verify-only"}', "is not valid"],
    ['{"snapshot":"$(reboot)"}', "is not valid"],
    [`{"snapshot":"${"a".repeat(129)}"}`, "is not valid"],
    ['{"snapshot":"0a1b2c3d","conflicts":"overwrite"}', '"conflicts" is invalid'],
    ['{"snapshot":"0a1b2c3d","verifyOnly":"yes"}', '"verifyOnly" is invalid'],
    ['{"snapshot":"0a1b2c3d","exclude":["work"]}', 'unknown key(s) "exclude"'],
    ['{"snapshot":"0a1b2c3d","dispvm":"x","passphraseFile":"/tmp/p"}', 'unknown key(s) "dispvm", "passphraseFile"'],
    ['{"snapshot":"0a1b2c3d","paranoid":"yes"}', "paranoid"],
    ['{"snapshot":"0a1b2c3d","qubes":["dom0;id"]}', 'qube "dom0;id" is not a valid qube name'],
  ])("refuses %j", (input, text) => {
    expect(refused(() => restore(input))).toContain(text);
  });
});

describe("restore-point requests", () => {
  const point = (s: string) => parseRestorePointRequest(b(s));
  it("accepts latest, a backup-id or a UTC time, with qubes and conflicts", () => {
    expect(point('{"point":"latest"}')).toEqual({ point: "latest", qubes: [] });
    expect(point('{"repo":"main","point":"20261202T003500-1234","qubes":["work"],"conflicts":"rename"}')).toEqual({ repo: "main", point: "20261202T003500-1234", qubes: ["work"], conflicts: "rename" });
    expect(point('{"point":"2026-12-02T10:00:00.5Z"}').point).toBe("2026-12-02T10:00:00.5Z");
    expect(isRestorePointRequest(b('{"point":"latest"}'))).toBe(true);
    expect(isRestorePointRequest(b('{"snapshot":"latest"}'))).toBe(false);
    expect(isRestorePointRequest(b("not json"))).toBe(false);
  });
  it("refuses anything else in one sentence", () => {
    expect(() => point('{"point":"$(reboot)"}')).toThrow(new RequestError('restore point "$(reboot)" is not valid; use latest, a backup-id (YYYYmmddTHHMMSS-<pid>) or a UTC time such as 2026-12-02T10:00:00Z.'));
    expect(() => point('{"point":"2026-12-02T10:00:00+01:00"}')).toThrow(RequestError);
    expect(() => point('{"point":"latest","snapshot":"x"}')).toThrow('the request has unknown key(s) "snapshot"; only the documented keys are accepted.');
    expect(() => point('{"point":"latest","qubes":["a b"]}')).toThrow(RequestError);
    expect(() => point('{"point":"latest","verifyOnly":true}')).toThrow('unknown key(s) "verifyOnly"');
  });
});
