import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatRestorePlan } from "../src/ledger-format.ts";
import { SECRET, bytes, run, scratch } from "./helpers.ts";

const ID = "20261202T003500-1234";
const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe("the shim's ledger spool and restore checks", () => {
  it("spools the header, qubes.xml and every chunk's length and tag, root-only", async () => {
    const { dir, env } = scratch();
    const state = path.join(dir, "state");
    const e = { ...env, QUBES_DEDUP_STATE_DIR: state };
    const header = path.join(dir, "backup-header");
    fs.writeFileSync(header, `version=4\nbackup-id=${ID}\n`);
    expect((await run(e, ["enc", header, `${header}.hmac`], `backup-header!${SECRET}`)).exitCode).toBe(0);
    const xml = bytes(10240, 3);
    expect((await run(e, ["enc", "-", path.join(dir, "x.enc")], `${ID}!qubes.xml.000!${SECRET}`, xml)).exitCode).toBe(0);
    const data = bytes(70_000, 4);
    const out = path.join(dir, "c.enc");
    expect((await run(e, ["enc", "-", out], `${ID}!vm3/private.img.000!${SECRET}`, data)).exitCode).toBe(0);
    const spool = path.join(state, "spool", ID);
    expect(mode(state)).toBe(0o700);
    expect(mode(spool)).toBe(0o700);
    expect(fs.readFileSync(path.join(spool, "header"), "utf8")).toBe(`version=4\nbackup-id=${ID}\n`);
    expect(fs.readFileSync(path.join(spool, "qubes.xml.000")).equals(xml)).toBe(true);
    const tagOf = (f: string) => fs.readFileSync(f).subarray(-32).toString("hex");
    expect(fs.readFileSync(path.join(spool, "chunks"), "utf8")).toBe(`qubes.xml.000 10240 ${tagOf(path.join(dir, "x.enc"))}\nvm3/private.img.000 70000 ${tagOf(out)}\n`);
    for (const f of ["header", "chunks", "qubes.xml.000"]) expect(mode(path.join(spool, f)), f).toBe(0o600);
    // The chunk itself is unchanged by spooling: data plus the 48-byte trailer.
    expect(fs.readFileSync(out).subarray(0, data.length).equals(data)).toBe(true);
    expect(fs.statSync(out).size).toBe(data.length + 48);
  });

  it("inside a restore run accepts the planned chunk, refuses another header or order, writing nothing", async () => {
    const { dir, env } = scratch();
    const header = path.join(dir, "backup-header");
    fs.writeFileSync(header, `version=4\nbackup-id=${ID}\n`);
    await run(env, ["enc", header, path.join(dir, "h.hmac")], `backup-header!${SECRET}`);
    const c0 = path.join(dir, "c0.enc");
    const c1 = path.join(dir, "c1.enc");
    await run(env, ["enc", "-", c0], `${ID}!vm3/private.img.000!${SECRET}`, bytes(5000, 1));
    await run(env, ["enc", "-", c1], `${ID}!vm3/private.img.001!${SECRET}`, bytes(5000, 2));
    const tagOf = (f: string) => fs.readFileSync(f).subarray(-32).toString("hex");
    const runDir = path.join(dir, "run");
    fs.mkdirSync(runDir);
    const plan = (backupId: string) =>
      fs.writeFileSync(path.join(runDir, "plan.json"), formatRestorePlan({ backupId, legacy: false, files: [{ path: "vm3/private.img", qube: "work", name: "private.img", tags: [tagOf(c0), tagOf(c1)] }] }));
    const e = { ...env, QUBES_DEDUP_RESTORE_RUN: runDir };
    plan("20261201T000000-1");
    const wrongHeader = await run(e, ["dec", "-f", path.join(dir, "h.hmac"), path.join(dir, "h.dec")], `backup-header!${SECRET}`);
    expect(wrongHeader.stderr).toBe(
      `scrypt (qubes-dedup): the stream's backup-header carries backup-id ${ID}, not 20261201T000000-1 that was confirmed in dom0 (the backup qube served another backup); nothing was restored, check the repository's snapshots and restore again.\n`,
    );
    expect(fs.existsSync(path.join(dir, "h.dec"))).toBe(false);
    fs.rmSync(path.join(runDir, "journal"));
    plan(ID);
    expect((await run(e, ["dec", "-f", path.join(dir, "h.hmac"), path.join(dir, "h.dec")], `backup-header!${SECRET}`)).exitCode).toBe(0);
    const skipped = await run(e, ["dec", "-f", c1, path.join(dir, "o1")], `${ID}!vm3/private.img.001!${SECRET}`);
    expect(skipped).toMatchObject({ exitCode: 1 });
    expect(skipped.stderr).toContain("qube work, file private.img: chunk 001 arrived where chunk 000 of 2 was expected");
    expect(fs.existsSync(path.join(dir, "o1"))).toBe(false);
    expect((await run(e, ["dec", "-f", c0, path.join(dir, "o0")], `${ID}!vm3/private.img.000!${SECRET}`)).exitCode).toBe(0);
    expect(fs.readFileSync(path.join(dir, "o0")).equals(bytes(5000, 1))).toBe(true);
    const journal = fs.readFileSync(path.join(runDir, "journal"), "utf8").split("\n");
    expect(journal[0]).toBe(`header ${ID}`);
    expect(journal[1]).toMatch(/^fail qube work, file private.img: chunk 001 arrived where chunk 000 of 2 was expected/);
    expect(journal.slice(2)).toEqual(["ok vm3/private.img.000", ""]);
  });
});
