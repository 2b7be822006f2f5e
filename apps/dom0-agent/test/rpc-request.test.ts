import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MAX_REQUEST_BYTES, RequestError } from "@qubes-dedup/protocol";
import { OutputReader, restoreOutcome } from "../src/rpc/progress.ts";
import { POLICY_TEXT, renderPolicy } from "../src/rpc/policy.ts";
import { readRequestBytes } from "../src/rpc/read.ts";
import { PassThrough } from "node:stream";

describe("output reading", () => {
  it("finds qvm-backup's progress across chunk boundaries and keeps the other lines", () => {
    const r = new OutputReader(2);
    expect(r.feed("\rMaking a backup... 1.00%\rMaking a bac")).toEqual([1]);
    expect(r.feed("kup... 42.50%\rMaking a backup... 100.00%\nfirst\nsecond\n")).toEqual([42.5, 100]);
    expect(r.feed("qvm-backup: the end")).toEqual([]);
    expect(r.end()).toEqual([]);
    expect(r.lines()).toEqual(["second", "qvm-backup: the end"]);
  });

  it("reads restore outcomes", () => {
    expect(restoreOutcome(["-> Restored work: private.img (1 bytes)", "-> Restored work: root.img (1 bytes)", "-> Skipping vault: a qube with that name already exists.", "-> Done."])).toEqual({
      done: ["work"], skipped: ["vault"],
    });
  });

  it("names a qube restored under another name by the name it got", () => {
    expect(restoreOutcome(["-> Restored vault as vault-1: private.img (1 bytes)", "-> Restored vault as vault-1: firewall.xml (1 bytes)", "-> Done."])).toEqual({
      done: ["vault as vault-1"], skipped: [],
    });
  });
});

describe("shipped policy", () => {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../policy/30-qubes-dedup.policy");

  it("is the text the agent installs, asking for restores and backups from the backup qube, and file reads only in a disposable qube", () => {
    expect(fs.readFileSync(file, "utf8")).toBe(POLICY_TEXT);
    const rules = POLICY_TEXT.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/));
    expect(rules).toEqual([
      ["qubes.DedupRestore", "*", "backup", "dom0", "ask"],
      ["qubes.DedupBackup", "*", "backup", "dom0", "ask"],
      ["qubes-dedup.ReadFilesystem", "*", "backup", "@dispvm", "allow"],
      ["qubes.DedupRestore", "*", "@anyvm", "@adminvm", "deny"],
      ["qubes.DedupBackup", "*", "@anyvm", "@adminvm", "deny"],
      ["qubes-dedup.ReadFilesystem", "*", "@anyvm", "@anyvm", "deny"],
    ]);
    expect(POLICY_TEXT).toMatch(/replace "ask"\n# with "allow"/);
  });

  it("is rendered for the configured backup qube, whose name is checked", () => {
    const r = renderPolicy("vault-backup").split("\n").filter((l) => /^qubes/.test(l));
    expect(r[0]).toBe("qubes.DedupRestore   *         vault-backup   dom0      ask");
    expect(r[2]).toBe("qubes-dedup.ReadFilesystem  *  vault-backup   @dispvm   allow");
    expect(r[3]).toContain("@anyvm");
    expect(() => renderPolicy("a b")).toThrow(/is not a valid qube name/);
  });
});

describe("reading the request", () => {
  it("returns at the first newline while the caller keeps its side open, keeping bytes that came with it", async () => {
    const input = new PassThrough();
    input.write('{"qubes":');
    input.write('["work"]}\n{"x":1}');
    expect((await readRequestBytes(input)).toString()).toBe('{"qubes":["work"]}\n{"x":1}');
  });

  it("stops reading one byte past the limit, and at end of input", async () => {
    const big = new PassThrough();
    big.end(Buffer.alloc(10_000, 0x20));
    expect((await readRequestBytes(big)).length).toBe(MAX_REQUEST_BYTES + 1);
    const short = new PassThrough();
    short.end("{}");
    expect((await readRequestBytes(short)).toString()).toBe("{}");
  });

  it("refuses a caller that never sends its line", async () => {
    await expect(readRequestBytes(new PassThrough(), MAX_REQUEST_BYTES + 1, 0.05)).rejects.toThrow(
      new RequestError("no request line arrived within 0.05 seconds; send one JSON line ending in a newline."),
    );
  });
});
