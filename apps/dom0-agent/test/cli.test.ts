import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AGENT, PASS, SHIM, agent, rootWithPassphrase, standIns, tmp } from "./helpers.ts";

describe("backup and restore command lines", () => {
  it("runs qvm-backup with fixed flags, the shim first on PATH, relaying progress and exit status", () => {
    const root = rootWithPassphrase();
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}`, STANDIN_EXIT: "3" };
    const r = agent(["backup", "--root", root, "--repo", "main", "--exclude", "sys-net", "work", "vault"], env);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe("\rMaking a backup... 50.00%");
    const rec = s.recorded("qvm-backup");
    expect(rec.argv).toEqual([
      "--yes", "--no-compress", "--passphrase-file", path.join(root, "etc/qubes-dedup/passphrase"), "--dest-vm", "backup",
      "--exclude", "sys-net", "qubes-dedup ingest --repo main", "work", "vault",
    ]);
    expect(rec.scrypt).toBe(SHIM);
  });

  it("prefers the installed shim and takes defaults from agent.json", () => {
    const root = rootWithPassphrase();
    fs.writeFileSync(path.join(root, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "vault-backup", repo: "offsite" }));
    expect(agent(["shim", "install", "--root", root]).status).toBe(0);
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}` };
    const r = agent(["restore", "0a1b2c3d", "--root", root, "--verify-only", "--skip-conflicting", "--exclude", "sys-usb", "work"], env);
    expect(r).toMatchObject({ status: 0 });
    const rec = s.recorded("qvm-backup-restore");
    expect(rec.argv).toEqual(["-d", "vault-backup", "-p", path.join(root, "etc/qubes-dedup/passphrase"), "--verify-only", "--skip-conflicting", "-x", "sys-usb", "qubes-dedup dump --repo offsite 0a1b2c3d", "work"]);
    expect(rec.scrypt).toBe(path.join(root, "usr/lib/qubes-dedup/bin/scrypt"));
  });

  it("rejects hostile names before running anything", () => {
    const root = rootWithPassphrase();
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}` };
    const cases: string[][] = [
      ["backup", "--root", root, "work;reboot"],
      ["backup", "--root", root, "a\nb"],
      ["backup", "--root", root, "--repo", "$(id)"],
      ["backup", "--root", root, "--dest-vm", "x".repeat(40)],
      ["backup", "--root", root, "--exclude", "a b"],
      ["restore", "--root", root, "0a1b2c3d;id"],
      ["restore", "--root", root, "--repo", "main", "--", "-rf"],
    ];
    for (const c of cases) {
      const r = agent(c, env);
      expect(r.status, c.join(" ")).toBe(1);
      expect(r.stderr, c.join(" ")).toMatch(/^qubes-dedup-agent: .* is not (a )?valid/);
    }
    expect(fs.existsSync(path.join(s.bin, "qvm-backup.argv"))).toBe(false);
    expect(fs.existsSync(path.join(s.bin, "qvm-backup-restore.argv"))).toBe(false);
  });

  it("refuses to back up without a project passphrase", () => {
    const root = tmp();
    const r = agent(["backup", "--root", root, "work"]);
    expect(r.status).toBe(1);
    const f = path.join(root, "etc/qubes-dedup/passphrase");
    expect(r.stderr).toBe(`qubes-dedup-agent: the passphrase file ${f} cannot be read; create one with \`qubes-dedup-agent secret new --out ${f}\`.\n`);
    const plain = rootWithPassphrase("hunter2");
    expect(agent(["backup", "--root", plain]).stderr).toContain("does not hold a qubes-dedup passphrase");
  });

  it("prints usage and exits 2 on unknown flags, commands and missing arguments", () => {
    for (const c of [[], ["frob"], ["backup", "--frob"], ["restore"], ["restore", "abcdef12", "--rename-conflicting", "--skip-conflicting"], ["shim"], ["shim", "frob"], ["secret", "new"], ["doctor", "extra"]]) {
      const r = agent(c);
      expect(r.status, c.join(" ")).toBe(2);
      expect(r.stderr, c.join(" ")).toContain("usage: qubes-dedup-agent <command> [options]");
    }
  });
});

describe("secret new and shim path", () => {
  it("writes a root-only project passphrase once and refuses to overwrite", () => {
    const dir = tmp();
    const out = path.join(dir, "sub", "passphrase");
    const r = agent(["secret", "new", "--out", out]);
    expect(r.status).toBe(0);
    const text = fs.readFileSync(out, "utf8");
    expect(text).toMatch(/^qubes-dedup-v1-[0-9a-f]{64}\n$/);
    expect(r.stdout).toBe(text);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const again = agent(["secret", "new", "--out", out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`qubes-dedup-agent: ${out} already exists and is never overwritten (backups made with it need it); choose another --out or move the old file away yourself.\n`);
    expect(fs.readFileSync(out, "utf8")).toBe(text);
    expect(text).not.toBe(`${PASS}\n`);
  });

  it("prints the absolute path of the built shim", () => {
    const r = agent(["shim", "path"]);
    expect(r).toEqual({ status: 0, stdout: `${SHIM}\n`, stderr: "" });
    expect(path.isAbsolute(AGENT)).toBe(true);
  });
});
