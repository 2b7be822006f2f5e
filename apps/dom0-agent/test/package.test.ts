/**
 * The dom0 RPM (tools/package/dom0-rpm.sh): its file list, modes and owners
 * as `rpm -qlvp` shows them, and an install into a scratch dom0 root with
 * `rpm --root`, where `doctor` passes, then `rpm -e`, which must leave the
 * root byte-identical to before. Needs rpmbuild (Debian's rpm package,
 * installed by tools/install.sh): missing, the test fails.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { POLICY_TEXT, policyFiles } from "../src/rpc/policy.ts";
import { deadmanUnits } from "../src/deadman-units.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { SHIM, agent, allOkDoctor, tree } from "./helpers.ts";

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const VERSION = (JSON.parse(fs.readFileSync(path.join(WORKSPACE, "package.json"), "utf8")) as { version: string }).version;
const RPM = path.join(WORKSPACE, `dist/packages/qubes-dedup-dom0-${VERSION}-1.noarch.rpm`);
const AGENT_FILE = "/usr/lib/qubes-dedup/qubes-dedup-agent.mjs";
/** Where the scratch root keeps its rpm database (Debian's rpm would use ~/.rpmdb; dom0's is here). */
const DBPATH = "/var/lib/rpm";

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: WORKSPACE });
  if (r.error) throw new Error(`${cmd} cannot run (${r.error.message}); install Debian's rpm package (tools/install.sh does).`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  expect(r.status, `${cmd} ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A scratch dom0: the directories dom0's own packages own, the real scrypt, a passphrase, an empty rpm database. */
function dom0(): string {
  const root = tmpDir("rpm-root");
  for (const d of ["usr/bin", "usr/lib", "etc/systemd/system", "etc/qubes/policy.d", "etc/qubes-rpc", "var/lib/rpm"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.symlinkSync("/usr/bin/scrypt", path.join(root, "usr/bin/scrypt"));
  expect(agent(["secret", "new", "--out", "/etc/qubes-dedup/passphrase", "--root", root]).status).toBe(0);
  ok("rpm", ["--root", root, "--dbpath", DBPATH, "--initdb"]);
  return root;
}

/** The scratch root's tree; the rpm database's files are left out (they record the install and its removal). */
const treeOf = (root: string) => tree(root, (rel) => rel.startsWith("var/lib/rpm/"));

describe("the dom0 RPM", () => {
  beforeAll(() => {
    // The agent and the shim were bundled by the global setup.
    ok("bash", ["tools/package/dom0-rpm.sh", "--no-build"]);
  }, 120_000);

  it("holds the agent, the shim, the drop-in, the dead-man units, the services and the policy, root-owned, nothing writable by others, no test or dev files", () => {
    const listing = ok("rpm", ["-qlvp", RPM]).trim().split("\n");
    const entries = listing.map((l) => {
      const [mode, , owner, group, , , , , file, arrow, target] = l.trim().split(/\s+/);
      return { mode, owner, group, file, link: arrow === "->" ? target : undefined };
    });
    expect(entries.map((e) => `${e.mode} ${e.file}${e.link ? ` -> ${e.link}` : ""}`)).toEqual([
      "-rwxr-xr-x /etc/qubes-rpc/qubes.DedupBackup",
      "-rwxr-xr-x /etc/qubes-rpc/qubes.DedupRestore",
      "-rw-r--r-- /etc/qubes/policy.d/30-qubes-dedup.policy",
      "-rw-r--r-- /etc/systemd/system/qubes-dedup-deadman.service",
      "-rw-r--r-- /etc/systemd/system/qubes-dedup-deadman.timer",
      "drwxr-xr-x /etc/systemd/system/qubesd.service.d",
      "-rw-r--r-- /etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf",
      "lrwxrwxrwx /usr/bin/qubes-dedup-agent -> ../lib/qubes-dedup/qubes-dedup-agent.mjs",
      "drwxr-xr-x /usr/lib/qubes-dedup",
      "drwxr-xr-x /usr/lib/qubes-dedup/bin",
      "-rw-r--r-- /usr/lib/qubes-dedup/bin/real-scrypt",
      "-rwxr-xr-x /usr/lib/qubes-dedup/bin/scrypt",
      "-rw-r--r-- /usr/lib/qubes-dedup/install-manifest.json",
      "-rwxr-xr-x /usr/lib/qubes-dedup/qubes-dedup-agent.mjs",
      "lrwxrwxrwx /usr/lib/qubes-dedup/scrypt -> bin/scrypt",
    ]);
    for (const e of entries) {
      expect(`${e.file} ${e.owner}:${e.group}`).toBe(`${e.file} root:root`);
      // A symlink's own mode is always rwxrwxrwx and means nothing.
      if (!e.mode!.startsWith("l")) expect(e.mode![8], `${e.file} is writable by others`).toBe("-");
      expect(e.file).not.toMatch(/\.(test\.|map$|d\.ts$|ts$|tsx$)|\/(test|src|node_modules)\//);
    }
    expect(ok("rpm", ["-qcp", RPM])).toBe("/etc/qubes/policy.d/30-qubes-dedup.policy\n");
    const requires = ok("rpm", ["-qp", "--requires", RPM]).split("\n").filter((l) => !l.startsWith("rpmlib("));
    expect(requires.filter(Boolean)).toEqual(["nodejs >= 20.19", "scrypt >= 1.3"]);
    // On a running systemd the first install enables the dead-man timer and the last removal disables it.
    const scripts = ok("rpm", ["-qp", "--scripts", RPM]);
    expect(scripts).toContain('if arg[2] == 1 then rpm.execute("systemctl", "enable", "--now", "qubes-dedup-deadman.timer") end');
    expect(scripts).toContain('if arg[2] == 0 and posix.access("/run/systemd/system") then rpm.execute("systemctl", "disable", "--now", "qubes-dedup-deadman.timer") end');
  });

  it("installs into a scratch dom0 where doctor passes, and rpm -e leaves it byte-identical to before", () => {
    const root = dom0();
    const before = treeOf(root);
    ok("rpm", ["--root", root, "--dbpath", DBPATH, "--nodeps", "-i", RPM]);
    // The package's files are the agent's own: the shim as built, the policy and services of `policy install`.
    expect(fs.readFileSync(path.join(root, "usr/lib/qubes-dedup/bin/scrypt")).equals(fs.readFileSync(SHIM))).toBe(true);
    expect(fs.readFileSync(path.join(root, "etc/qubes/policy.d/30-qubes-dedup.policy"), "utf8")).toBe(POLICY_TEXT);
    for (const f of policyFiles("backup", "/usr/bin/node", AGENT_FILE)) expect(fs.readFileSync(path.join(root, f.path), "utf8")).toBe(f.content);
    for (const u of deadmanUnits()) expect(fs.readFileSync(path.join(root, u.path), "utf8")).toBe(u.content.toString());
    const installed = path.join(root, "usr/bin/qubes-dedup-agent");
    const doctor = run(installed, ["doctor", "--root", root]);
    expect(doctor.stdout).toBe(
      allOkDoctor(root),
    );
    expect(doctor.status).toBe(0);
    // The packaged shim is what `shim install` would write: nothing to do, nothing conflicting.
    expect(run(installed, ["shim", "install", "--root", root]).stdout).toBe("nothing to change: the shim is already installed and up to date\n");
    expect(run(installed, ["shim", "status", "--root", root]).status).toBe(0);
    expect(treeOf(root)).not.toEqual(before);
    ok("rpm", ["--root", root, "--dbpath", DBPATH, "-e", "qubes-dedup-dom0"]);
    expect(treeOf(root)).toEqual(before);
    expect(fs.existsSync(path.join(root, "etc/systemd/system/qubesd.service.d"))).toBe(false);
  });
});
