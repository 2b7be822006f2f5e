import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PASS, SHIM, agent, tmp, tree } from "./helpers.ts";

const DROP_IN = "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf";

/** A scratch dom0: /usr/bin/scrypt (the real one, by symlink) and an unrelated drop-in dir. */
function dom0(): string {
  const root = tmp("qdd-dom0-");
  fs.mkdirSync(path.join(root, "usr/bin"), { recursive: true });
  fs.symlinkSync("/usr/bin/scrypt", path.join(root, "usr/bin/scrypt"));
  fs.mkdirSync(path.join(root, "etc/systemd/system/qubesd.service.d"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/systemd/system/qubesd.service.d/10-other.conf"), "[Service]\n");
  return root;
}

describe("shim install, status, uninstall", () => {
  it("installs beside /usr/bin/scrypt, is idempotent, and uninstall restores the tree exactly", () => {
    const root = dom0();
    const before = tree(root);
    expect(agent(["shim", "status", "--root", root])).toMatchObject({ status: 1 });
    const r = agent(["shim", "install", "--root", root]);
    expect(r.status).toBe(0);
    const size = fs.statSync(SHIM).size;
    expect(r.stdout).toBe(
      [
        "created directory /usr/lib",
        "created directory /usr/lib/qubes-dedup",
        "created directory /usr/lib/qubes-dedup/bin",
        `wrote /usr/lib/qubes-dedup/bin/scrypt (mode 0755, ${size} bytes)`,
        "wrote /usr/lib/qubes-dedup/bin/real-scrypt (mode 0644, 16 bytes)",
        `wrote /${DROP_IN} (mode 0644, ${fs.statSync(path.join(root, DROP_IN)).size} bytes)`,
        `wrote /usr/lib/qubes-dedup/install-manifest.json (mode 0644, ${fs.statSync(path.join(root, "usr/lib/qubes-dedup/install-manifest.json")).size} bytes)`,
        "next: systemctl daemon-reload && systemctl restart qubesd (so that qubesd finds the shim first on its PATH)",
        "",
      ].join("\n"),
    );
    expect(fs.readlinkSync(path.join(root, "usr/bin/scrypt"))).toBe("/usr/bin/scrypt");
    expect(fs.readFileSync(path.join(root, "usr/lib/qubes-dedup/bin/scrypt")).equals(fs.readFileSync(SHIM))).toBe(true);
    expect(fs.statSync(path.join(root, "usr/lib/qubes-dedup/bin/scrypt")).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(root, DROP_IN), "utf8")).toContain("\n[Service]\nEnvironment=PATH=/usr/lib/qubes-dedup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n");
    const installed = tree(root);
    expect(agent(["shim", "install", "--root", root]).stdout).toBe("nothing to change: the shim is already installed and up to date\n");
    expect(tree(root)).toEqual(installed);
    const st = agent(["shim", "status", "--root", root]);
    expect(st.status).toBe(0);
    expect(st.stdout.trim().split("\n").at(-1)).toBe("the shim is installed and up to date");
    const u = agent(["shim", "uninstall", "--root", root]);
    expect(u.status).toBe(0);
    expect(u.stdout).toContain(`removed /${DROP_IN}\n`);
    expect(u.stdout).toContain("removed directory /usr/lib\n");
    expect(u.stdout).not.toContain("qubesd.service.d\n");
    expect(tree(root)).toEqual(before);
    expect(agent(["shim", "uninstall", "--root", root]).stdout).toBe("nothing to remove: the shim is not installed\n");
  });

  it("refuses to overwrite a foreign file at its drop-in path", () => {
    const root = dom0();
    fs.writeFileSync(path.join(root, DROP_IN), "[Service]\n");
    const r = agent(["shim", "install", "--root", root]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`qubes-dedup-agent: /${DROP_IN} exists and was not written by qubes-dedup; move it away and run install again.\n`);
    expect(fs.existsSync(path.join(root, "usr/lib/qubes-dedup"))).toBe(false);
  });
});

describe("doctor", () => {
  it("reports each failure with its fix and exits 1, then all ok after setup", () => {
    const root = dom0();
    const r = agent(["doctor", "--root", root]);
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n")).toEqual([
      "ok    real scrypt: /usr/bin/scrypt (scrypt 1.3.1)",
      "FAIL  shim installed: /usr/lib/qubes-dedup/bin/scrypt is missing, /usr/lib/qubes-dedup/bin/real-scrypt is missing, /etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf is missing; fix: run `qubes-dedup-agent shim install`",
      "FAIL  qubesd drop-in: /etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf is missing; fix: run `qubes-dedup-agent shim install`",
      "skip  running qubesd: not checked under --root",
      "FAIL  passphrase file: /etc/qubes-dedup/passphrase is missing; fix: qubes-dedup-agent secret new --out /etc/qubes-dedup/passphrase",
      "FAIL  qrexec policy: /etc/qubes/policy.d/30-qubes-dedup.policy is missing; fix: run `qubes-dedup-agent policy install`",
      "",
    ]);
    expect(agent(["shim", "install", "--root", root]).status).toBe(0);
    const pass = path.join(root, "etc/qubes-dedup/passphrase");
    fs.mkdirSync(path.dirname(pass), { recursive: true });
    fs.writeFileSync(pass, `${PASS}\n`, { mode: 0o644 });
    fs.chmodSync(pass, 0o644);
    expect(agent(["doctor", "--root", root]).stdout).toContain("FAIL  passphrase file: /etc/qubes-dedup/passphrase is not root-only (mode 644, owner 0); fix: chown root:root /etc/qubes-dedup/passphrase && chmod 600 /etc/qubes-dedup/passphrase\n");
    fs.chmodSync(pass, 0o600);
    fs.mkdirSync(path.join(root, "etc/qubes/policy.d"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/qubes/policy.d/30-qubes-dedup.policy"), "qubes.DedupBackup * backup dom0 ask\nqubes.DedupRestore * backup dom0 ask\n");
    const good = agent(["doctor", "--root", root]);
    expect(good.stdout).toBe(
      [
        "ok    real scrypt: /usr/bin/scrypt (scrypt 1.3.1)",
        "ok    shim installed: /usr/lib/qubes-dedup/bin/scrypt, up to date",
        "ok    qubesd drop-in: /etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf puts /usr/lib/qubes-dedup/bin first on PATH",
        "skip  running qubesd: not checked under --root",
        "ok    passphrase file: /etc/qubes-dedup/passphrase, root-only",
        "ok    qrexec policy: /etc/qubes/policy.d/30-qubes-dedup.policy",
        "",
      ].join("\n"),
    );
    expect(good.status).toBe(0);
  });
});
