import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, makeStream, scratch, type Scratch } from "./harness.ts";

// `files ls|get` end to end through the bundled CLI: one clear sentence and
// exit 1 for each bad input, names escaped, nothing but the asked file written.
let s: Scratch;
const MiB = 1024 * 1024;
const secret = Buffer.from("the quarterly numbers\n".repeat(1000));

beforeAll(async () => {
  s = scratch();
  const t = path.join(s.dir, "tree");
  fs.mkdirSync(path.join(t, "Documents"), { recursive: true });
  fs.writeFileSync(path.join(t, "Documents/q3.txt"), secret);
  fs.writeFileSync(path.join(t, "Documents/evil\n\x1b[2Jname"), "x");
  const stream = makeStream(s.dir, "cli-files", [
    { name: "fedora-41", klass: "TemplateVM", rootSize: 2 * MiB, privateSize: MiB },
    { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 4 * MiB, files: { private: t } },
  ]);
  expect((await cli(s, ["repo", "add", "default", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile])).status).toBe(0);
  expect((await cli(s, ["ingest"], { inputFile: stream.file })).status).toBe(0);
}, 120_000);

afterAll(() => fs.rmSync(s.dir, { recursive: true, force: true }));

describe("qubes-dedup files", () => {
  it("ls prints kind, size, mtime and escaped names", async () => {
    const r = await cli(s, ["files", "ls", "latest", "work", "/Documents"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.toString().trimEnd().split("\n").sort();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^- +1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  evil\\n\\x1b\[2Jname$/);
    expect(lines[1]).toMatch(new RegExp(`^- +${secret.length}  .*  q3\\.txt$`));
  }, 60_000);

  it("get writes the file byte for byte, and refuses what it cannot do in one sentence with exit 1", async () => {
    const out = path.join(s.dir, "q3-copy.txt");
    const r = await cli(s, ["files", "get", "latest", "work:private", "/Documents/q3.txt", "-o", out]);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out).equals(secret)).toBe(true);
    const cases: [string[], string][] = [
      [["/Documents/nope.txt", "-o", path.join(s.dir, "a")], "qubes-dedup: /Documents/nope.txt does not exist in this snapshot; list its parent directory to see what is there.\n"],
      [["/Documents/q3.txt", "-o", path.join(s.dir, "b"), "--max-bytes", "100"], `qubes-dedup: /Documents/q3.txt is ${secret.length} bytes, over the download limit of 100 bytes; download a smaller part or raise the limit (--max-bytes).\n`],
      [["/Documents/evil\n\x1b[2Jname"], "qubes-dedup: the name evil\\n\\x1b[2Jname holds characters a terminal or shell would act on; give the output file with -o.\n"],
      [["/Documents/q3.txt", "-o", out], `qubes-dedup: ${out} already exists; choose another name with -o.\n`],
    ];
    for (const [args, err] of cases) {
      const f = await cli(s, ["files", "get", "latest", "work", ...args]);
      expect([f.status, f.stderr]).toEqual([1, err]);
    }
    expect(fs.readdirSync(s.dir).filter((n) => /^(a|b)$|partial/.test(n))).toEqual([]);
  }, 120_000);

  it("get of a directory writes a tar archive of it", async () => {
    const out = path.join(s.dir, "docs.tar");
    const r = await cli(s, ["files", "get", "latest", "work", "/Documents", "-o", out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^qubes-dedup: wrote \d+ bytes to .*docs\.tar \(a tar archive of the directory\)\.\n$/);
    const x = path.join(s.dir, "x");
    fs.mkdirSync(x);
    const { execFileSync } = await import("node:child_process");
    execFileSync("tar", ["-xf", out, "-C", x]);
    expect(fs.readFileSync(path.join(x, "q3.txt")).equals(secret)).toBe(true);
  }, 60_000);

  it("find lists matching entries with their escaped paths", async () => {
    const r = await cli(s, ["files", "find", "latest", "work", "EVIL"]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout.toString()).toMatch(/^- +1  .*  \/Documents\/evil\\n\\x1b\[2Jname\n$/);
  }, 60_000);

  it("a bad <qube>[:volume] is a usage of its own", async () => {
    const r = await cli(s, ["files", "ls", "latest", "work:volatile"]);
    expect([r.status, r.stderr]).toEqual([1, 'qubes-dedup: "work:volatile" is not <qube>[:private|:root]; name a qube and optionally its volume.\n']);
  });
});
