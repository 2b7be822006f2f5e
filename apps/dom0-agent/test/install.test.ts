import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SHIM, agent, allOkDoctor, tree } from "./helpers.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

const DROP_IN = "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf";
const SERVICE = "etc/systemd/system/qubes-dedup-deadman.service";
const TIMER = "etc/systemd/system/qubes-dedup-deadman.timer";

/** A scratch dom0: /usr/bin/scrypt (the real one, by symlink) and an unrelated drop-in dir. */
function dom0(): string {
  const root = tmpDir("dom0");
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
    const missing = agent(["shim", "status", "--root", root]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain(`missing: ${root}/usr/lib/qubes-dedup/bin/scrypt\n`);
    expect(missing.stdout).toContain(`run \`qubes-dedup-agent shim install --root ${root}\`\n`);
    const r = agent(["shim", "install", "--root", root]);
    expect(r.status).toBe(0);
    const size = fs.statSync(SHIM).size;
    // Under --root every printed path lies inside the root: a scratch run never reads like a change to dom0.
    expect(r.stdout).toBe(
      [
        `created directory ${root}/usr/lib`,
        `created directory ${root}/usr/lib/qubes-dedup`,
        `created directory ${root}/usr/lib/qubes-dedup/bin`,
        `wrote ${root}/usr/lib/qubes-dedup/bin/scrypt (mode 0755, ${size} bytes)`,
        `wrote ${root}/usr/lib/qubes-dedup/bin/real-scrypt (mode 0644, 16 bytes)`,
        `wrote ${root}/${DROP_IN} (mode 0644, ${fs.statSync(path.join(root, DROP_IN)).size} bytes)`,
        `wrote ${root}/${SERVICE} (mode 0644, ${fs.statSync(path.join(root, SERVICE)).size} bytes)`,
        `wrote ${root}/${TIMER} (mode 0644, ${fs.statSync(path.join(root, TIMER)).size} bytes)`,
        `wrote ${root}/usr/lib/qubes-dedup/install-manifest.json (mode 0644, ${fs.statSync(path.join(root, "usr/lib/qubes-dedup/install-manifest.json")).size} bytes)`,
        `next: nothing for the scratch root ${root} (on a real dom0: systemctl daemon-reload && systemctl enable --now qubes-dedup-deadman.timer && systemctl restart qubesd)`,
        "",
      ].join("\n"),
    );
    expect(fs.readlinkSync(path.join(root, "usr/bin/scrypt"))).toBe("/usr/bin/scrypt");
    expect(fs.readFileSync(path.join(root, "usr/lib/qubes-dedup/bin/scrypt")).equals(fs.readFileSync(SHIM))).toBe(true);
    expect(fs.statSync(path.join(root, "usr/lib/qubes-dedup/bin/scrypt")).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(root, DROP_IN), "utf8")).toContain("\n[Service]\nEnvironment=PATH=/usr/lib/qubes-dedup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n");
    // The dead-man check: a oneshot service running the installed agent, and a daily timer that catches up after downtime.
    expect(fs.readFileSync(path.join(root, SERVICE), "utf8")).toContain("\n[Service]\nType=oneshot\nExecStart=/usr/bin/qubes-dedup-agent deadman\n");
    expect(fs.readFileSync(path.join(root, TIMER), "utf8")).toContain("\n[Timer]\nOnCalendar=daily\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n");
    const installed = tree(root);
    expect(agent(["shim", "install", "--root", root]).stdout).toBe("nothing to change: the shim is already installed and up to date\n");
    expect(tree(root)).toEqual(installed);
    const st = agent(["shim", "status", "--root", root]);
    expect(st.status).toBe(0);
    expect(st.stdout.trim().split("\n").at(-1)).toBe("the shim is installed and up to date");
    // `systemctl enable` links the timer; uninstall removes that link with the unit, so nothing dangles.
    fs.mkdirSync(path.join(root, "etc/systemd/system/timers.target.wants"));
    fs.symlinkSync(`/${TIMER}`, path.join(root, "etc/systemd/system/timers.target.wants/qubes-dedup-deadman.timer"));
    const u = agent(["shim", "uninstall", "--root", root]);
    expect(u.status).toBe(0);
    expect(u.stdout.split("\n")[0]).toBe(`removed ${root}/etc/systemd/system/timers.target.wants/qubes-dedup-deadman.timer (the timer was enabled)`);
    expect(u.stdout).toContain(`removed ${root}/${TIMER}\n`);
    fs.rmdirSync(path.join(root, "etc/systemd/system/timers.target.wants"));
    expect(u.stdout).toContain(`removed ${root}/${DROP_IN}\n`);
    expect(u.stdout).toContain(`removed directory ${root}/usr/lib\n`);
    expect(u.stdout).not.toContain("qubesd.service.d\n");
    expect(tree(root)).toEqual(before);
    expect(agent(["shim", "uninstall", "--root", root]).stdout).toBe("nothing to remove: the shim is not installed\n");
  });

  it("refuses to overwrite a foreign file at its drop-in path", () => {
    const root = dom0();
    fs.writeFileSync(path.join(root, DROP_IN), "[Service]\n");
    const r = agent(["shim", "install", "--root", root]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`qubes-dedup-agent: ${root}/${DROP_IN} exists and was not written by qubes-dedup; move it away and run install again.\n`);
    expect(fs.existsSync(path.join(root, "usr/lib/qubes-dedup"))).toBe(false);
  });
});

describe("doctor", () => {
  it("reports each failure with its fix and exits 1, then all ok after setup", () => {
    const root = dom0();
    const r = agent(["doctor", "--root", root]);
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n")).toEqual([
      `ok    real scrypt: ${root}/usr/bin/scrypt (scrypt 1.3.1)`,
      `FAIL  shim installed: ${root}/usr/lib/qubes-dedup/bin/scrypt is missing, ${root}/usr/lib/qubes-dedup/bin/real-scrypt is missing, ${root}/etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf is missing; fix: run \`qubes-dedup-agent shim install --root ${root}\``,
      `FAIL  qubesd drop-in: ${root}/etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf is missing; fix: run \`qubes-dedup-agent shim install --root ${root}\``,
      "skip  running qubesd: not checked under --root",
      `FAIL  passphrase file: ${root}/etc/qubes-dedup/passphrase is missing; fix: qubes-dedup-agent secret new --out /etc/qubes-dedup/passphrase --root ${root}`,
      `FAIL  qrexec policy: ${root}/etc/qubes/policy.d/30-qubes-dedup.policy is missing; fix: run \`qubes-dedup-agent policy install --root ${root}\``,
      "",
    ]);
    expect(agent(["shim", "install", "--root", root]).status).toBe(0);
    // The fix doctor suggests works as printed.
    expect(agent(["secret", "new", "--out", "/etc/qubes-dedup/passphrase", "--root", root]).status).toBe(0);
    const pass = path.join(root, "etc/qubes-dedup/passphrase");
    fs.chmodSync(pass, 0o644);
    expect(agent(["doctor", "--root", root]).stdout).toContain(`FAIL  passphrase file: ${pass} is not root-only (mode 644, owner 0); fix: chown root:root ${pass} && chmod 600 ${pass}\n`);
    fs.chmodSync(pass, 0o600);
    fs.mkdirSync(path.join(root, "etc/qubes/policy.d"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/qubes/policy.d/30-qubes-dedup.policy"), "qubes.DedupBackup * backup dom0 ask\nqubes.DedupRestore * backup dom0 ask\n");
    const good = agent(["doctor", "--root", root]);
    expect(good.stdout).toBe(
      allOkDoctor(root),
    );
    expect(good.status).toBe(0);
  });

  it("checks the host's real scrypt when the root has none, and says which path it checked", () => {
    const bare = tmpDir("bare");
    const r = agent(["doctor", "--root", bare]);
    expect(r.stdout.split("\n")[0]).toBe(`ok    real scrypt: /usr/bin/scrypt (scrypt 1.3.1, the host's: ${bare} has none)`);
    fs.mkdirSync(path.join(bare, "usr/lib/qubes-dedup/bin"), { recursive: true });
    fs.writeFileSync(path.join(bare, "usr/lib/qubes-dedup/bin/real-scrypt"), "/opt/nowhere/scrypt\n");
    expect(agent(["doctor", "--root", bare]).stdout.split("\n")[0]).toBe(
      `FAIL  real scrypt: ${bare}/opt/nowhere/scrypt and /opt/nowhere/scrypt are missing or do not answer --version; fix: install scrypt 1.3 or later (qubes-dom0 package scrypt)`,
    );
  });
});
