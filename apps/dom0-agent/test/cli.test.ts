import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { USAGE } from "../src/main.ts";
import { AGENT, PASS, SHIM, agent, rootWithPassphrase, standIns } from "./helpers.ts";

const NOT_RECORDED = "the backup is stored but not in dom0's ledger: the shim recorded nothing for it (check that the shim is installed for qubesd: `qubes-dedup-agent doctor`); its restores will not be checked for completeness.";
const UNCHECKED = [
  "qubes-dedup-agent: restoring every qube from a backup dom0 has no record of, from snapshot 0a1b2c3d of repository (default)",
  "qubes-dedup-agent: warning: dom0's ledger records no backup yet, so this restore cannot be checked for completeness or for an older backup served in place of the newest.",
  "",
].join("\n");
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

describe("backup and restore command lines", () => {
  it("runs qvm-backup with fixed flags, the shim first on PATH, relaying progress and exit status", () => {
    const root = rootWithPassphrase();
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}`, STANDIN_EXIT: "3" };
    const r = agent(["backup", "--root", root, "--repo", "main", "--exclude", "sys-net", "work", "vault"], env);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe("\rMaking a backup... 50.00%\nqubes-dedup-agent: backup failed: qvm-backup exited 3; see its messages above.\n");
    const rec = s.recorded("qvm-backup");
    expect(rec.argv).toEqual([
      "--yes", "--no-compress", "--passphrase-file", path.join(root, "etc/qubes-dedup/passphrase"), "--dest-vm", "backup",
      "--exclude", "sys-net", "qubes-dedup ingest --repo main", "work", "vault",
    ]);
    expect(rec.scrypt).toBe(SHIM);
    const done = agent(["backup", "--root", root, "work"], { ...env, STANDIN_EXIT: "0" });
    // A stand-in runs no shim, so nothing reaches dom0's ledger; the agent says so.
    expect(done).toEqual({
      status: 0,
      stdout: "",
      stderr: `\rMaking a backup... 50.00%\nqubes-dedup-agent: backup finished: qvm-backup exited 0\nqubes-dedup-agent: warning: ${NOT_RECORDED}\n`,
    });
  });

  it("notifies dom0's desktop of every failed run, and of successes when agent.json asks for them", () => {
    const root = rootWithPassphrase();
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}` };
    expect(agent(["backup", "--root", root, "work"], { ...env, STANDIN_EXIT: "3" }).status).toBe(3);
    expect(agent(["backup", "--root", root, "work"], env).status).toBe(0);
    expect(s.notifications()).toEqual([["--app-name=qubes-dedup", "--urgency=critical", "--", "qubes-dedup: backup failed", "backup failed: qvm-backup exited 3; see its messages above."]]);
    fs.writeFileSync(path.join(root, "etc/qubes-dedup/agent.json"), JSON.stringify({ notifySuccess: true }));
    expect(agent(["restore", "0a1b2c3d", "--root", root], env).status).toBe(0);
    expect(s.notifications()[1]).toEqual(["--app-name=qubes-dedup", "--urgency=normal", "--", "qubes-dedup: restore finished", "restore finished"]);
    // Without notify-send (or a session bus) the run itself is unaffected.
    fs.rmSync(path.join(s.bin, "notify-send"));
    expect(agent(["backup", "--root", root, "work"], { ...env, STANDIN_EXIT: "3" }).status).toBe(3);
  });

  it("says how restore ended, and which tool failed or could not start", () => {
    const root = rootWithPassphrase();
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}` };
    // With no backup in dom0's ledger, the restore runs unchecked and says so first.
    const progress = `${UNCHECKED}\rMaking a backup... 50.00%`;
    expect(agent(["restore", "0a1b2c3d", "--root", root], env)).toEqual({ status: 0, stdout: "", stderr: `${progress}qubes-dedup-agent: restore finished\n` });
    expect(agent(["restore", "0a1b2c3d", "--root", root, "--verify-only"], env).stderr).toBe(`${progress}qubes-dedup-agent: verify-only: every file checked, nothing written\n`);
    const failed = agent(["restore", "0a1b2c3d", "--root", root], { ...env, STANDIN_EXIT: "5" });
    expect(failed).toMatchObject({ status: 5, stderr: `${progress}qubes-dedup-agent: restore failed: qvm-backup-restore exited 5; see its messages above.\n` });
    const missing = agent(["backup", "--root", root, "work"]);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/^qubes-dedup-agent: backup failed: cannot run qvm-backup \(.*\); run this in dom0, where qvm-backup is installed\.\n$/);
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
    expect(rec.argv).toEqual(["-d", "vault-backup", "-p", path.join(root, "etc/qubes-dedup/passphrase"), "--verify-only", "--skip-conflicting", "-x", "sys-usb", "qubes-dedup dump --repo offsite 0a1b2c3d --qubes work", "work"]);
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
      expect(r.status, c.join(" ")).toBe(2);
      expect(r.stderr, c.join(" ")).toMatch(/^qubes-dedup-agent: .* is not (a )?valid[^\n]*\.\nusage: qubes-dedup-agent <command>/);
    }
    // A bad name in agent.json is not a command-line mistake: exit 1, no usage text.
    fs.writeFileSync(path.join(root, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "a b" }));
    const cfg = agent(["backup", "--root", root], env);
    expect(cfg.status).toBe(1);
    expect(cfg.stderr).toMatch(/^qubes-dedup-agent: backup qube "a b" is not a valid qube name; [^\n]*\n$/);
    expect(fs.existsSync(path.join(s.bin, "qvm-backup.argv"))).toBe(false);
    expect(fs.existsSync(path.join(s.bin, "qvm-backup-restore.argv"))).toBe(false);
  });

  it("refuses to back up without a project passphrase", () => {
    const root = tmpDir("agent");
    const r = agent(["backup", "--root", root, "work"]);
    expect(r.status).toBe(1);
    const f = path.join(root, "etc/qubes-dedup/passphrase");
    expect(r.stderr).toBe(`qubes-dedup-agent: the passphrase file ${f} cannot be read; create one with \`qubes-dedup-agent secret new --out ${f}\`.\n`);
    const plain = rootWithPassphrase("hunter2");
    expect(agent(["backup", "--root", plain]).stderr).toContain("does not hold a qubes-dedup passphrase");
  });

  it("refuses a passphrase file readable by group or others before running anything", () => {
    const root = rootWithPassphrase();
    const f = path.join(root, "etc/qubes-dedup/passphrase");
    const s = standIns();
    const env = { ...process.env, PATH: `${s.bin}:${process.env.PATH}` };
    for (const mode of [0o644, 0o640]) {
      fs.chmodSync(f, mode);
      for (const c of [["backup", "--root", root, "work"], ["restore", "0a1b2c3d", "--root", root]]) {
        const r = agent(c, env);
        expect(r.status, c[0]).toBe(1);
        expect(r.stderr).toBe(`qubes-dedup-agent: the passphrase file ${f} is readable by group or others (mode 0${mode.toString(8)}); make it owner-only with \`chmod 600 ${f}\` and run again.\n`);
      }
    }
    expect(fs.existsSync(path.join(s.bin, "qvm-backup.argv"))).toBe(false);
    expect(fs.existsSync(path.join(s.bin, "qvm-backup-restore.argv"))).toBe(false);
  });

  it("prints usage and exits 2 on unknown flags, commands and missing arguments", () => {
    for (const c of [[], ["frob"], ["backup", "--frob"], ["restore"], ["restore", "abcdef12", "--rename-conflicting", "--skip-conflicting"], ["shim"], ["shim", "frob"], ["secret", "new"], ["doctor", "extra"]]) {
      const r = agent(c);
      expect(r.status, c.join(" ")).toBe(2);
      expect(r.stderr, c.join(" ")).toContain("usage: qubes-dedup-agent <command> [options]");
    }
  });

  it("prints help on stdout and exits 0 for --help, -h and help", () => {
    for (const c of [["--help"], ["-h"], ["help"]]) expect(agent(c), c.join(" ")).toEqual({ status: 0, stdout: USAGE, stderr: "" });
    const sub = agent(["restore", "--help"]);
    expect(sub.status).toBe(0);
    expect(sub.stdout).toMatch(/^usage: qubes-dedup-agent restore SNAPSHOT /);
  });

  it("turns every option mistake into one plain sentence plus usage, exit 2", () => {
    const cases: [string[], string][] = [
      [["secret", "new", "--frob"], "secret new has no option --frob; see the usage below."],
      [["backup", "-x"], "backup has no option -x; see the usage below."],
      [["backup", "--root"], "option --root of backup needs a value, as in --root VALUE."],
      [["restore", "abcdef12", "--verify-only=yes"], "option --verify-only of restore takes no value; give it alone."],
      [["shim", "status", "--frob"], "shim status has no option --frob; see the usage below."],
      [["doctor", "--frob"], "doctor has no option --frob; see the usage below."],
      [["shim", "path", "--out", "x"], "shim path has no option --out; see the usage below."],
    ];
    for (const [c, sentence] of cases) {
      const r = agent(c);
      expect(r.status, c.join(" ")).toBe(2);
      expect(r.stderr, c.join(" ")).toBe(`qubes-dedup-agent: ${sentence}\n${USAGE}`);
    }
  });
});

describe("secret new and shim path", () => {
  it("writes a root-only project passphrase once and refuses to overwrite", () => {
    const dir = tmpDir("agent");
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

  it("takes --root: --out is a system path inside the root, never overwritten", () => {
    const root = tmpDir("agent");
    const r = agent(["secret", "new", "--out", "/etc/qubes-dedup/passphrase", "--root", root]);
    const file = path.join(root, "etc/qubes-dedup/passphrase");
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n")[0]).toBe(`wrote a new passphrase to ${file} (mode 0600); write it down now as your recovery code, it is shown only once:`);
    expect(fs.readFileSync(file, "utf8")).toBe(r.stdout);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = agent(["secret", "new", "--root", root, "--out", "/etc/qubes-dedup/passphrase"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`qubes-dedup-agent: ${file} already exists and is never overwritten`);
    expect(fs.readFileSync(file, "utf8")).toBe(r.stdout);
    const rel = agent(["secret", "new", "--root", root, "--out", "passphrase"]);
    expect(rel.status).toBe(2);
    expect(rel.stderr.split("\n")[0]).toBe('qubes-dedup-agent: with --root, --out must be a system path starting with "/", such as /etc/qubes-dedup/passphrase');
  });

  it("prints the absolute path of the built shim", () => {
    const r = agent(["shim", "path"]);
    expect(r).toEqual({ status: 0, stdout: `${SHIM}\n`, stderr: "" });
    expect(agent(["shim", "path", "--root", tmpDir("agent")])).toEqual(r);
    expect(path.isAbsolute(AGENT)).toBe(true);
  });
});
