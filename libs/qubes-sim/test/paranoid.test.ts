/**
 * qvm-backup-restore --paranoid-mode in the simulated dom0: the location is
 * registered with the backup qube, the restore runs in the disposable with
 * the disposable's own PATH (its template's profile.d), and reads the stream
 * through qubes.RestoreById+<id>.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { disposablePath, loadQubesXml, domainName, simPaths } from "../src/index.ts";
import { qubeVolumeHashes, tmpDir } from "../src/testing/index.ts";
import { FAKE_SCRYPT_DIR, HERE, PASS, fakeEnv, smallSystem } from "./helpers.ts";

const BIN = path.join(HERE, "..", "bin");

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(path.join(BIN, cmd), args, { env, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A backup of `personal` and `work` made with the test scrypt, and a dom0
 * environment whose own `scrypt` always fails: a restore that decrypted in
 * dom0 instead of in the disposable cannot succeed.
 */
function setUp() {
  const root = smallSystem();
  const dir = tmpDir("paranoid");
  const pass = path.join(dir, "pass");
  fs.writeFileSync(pass, `${PASS}\n`);
  const stream = path.join(dir, "stream");
  const env = { ...fakeEnv(), QUBES_SIM_ROOT: root, QUBES_SIM_CHUNK_SIZE: "262144" };
  const b = run("qvm-backup", ["--yes", "--no-compress", "--passphrase-file", pass, "--dest-vm", "backup", `sh -c 'cat > ${stream}'`, "personal", "work"], env);
  expect(b.code, b.stderr).toBe(0);
  const broken = path.join(dir, "dom0-bin");
  fs.mkdirSync(broken);
  fs.writeFileSync(path.join(broken, "scrypt"), "#!/bin/sh\necho 'dom0 must not decrypt in paranoid mode' >&2\nexit 1\n", { mode: 0o755 });
  const dom0Env = { ...process.env, PATH: `${BIN}:${broken}:${process.env.PATH}` };
  return { root, dir, pass, stream, dom0Env };
}

/**
 * Lays the template of management_dispvm out under the target system: a
 * profile.d script that puts `bin` first on PATH in the qube named `only`,
 * and a `scrypt` there that logs each call and runs the test scrypt.
 */
function dispvmTemplate(target: string, only: string, callLog: string): void {
  const overlay = simPaths(target).managementDispvm;
  fs.mkdirSync(path.join(overlay, "etc/profile.d"), { recursive: true });
  fs.mkdirSync(path.join(overlay, "opt/dedup/bin"), { recursive: true });
  fs.writeFileSync(
    path.join(overlay, "etc/profile.d/dedup.sh"),
    `if [ "$(qubesdb-read /name 2>/dev/null)" = ${only} ]; then PATH="/opt/dedup/bin:$PATH"; fi\n`,
  );
  fs.writeFileSync(path.join(overlay, "opt/dedup/bin/scrypt"), `#!/bin/sh\necho "$1 $HOME" >> ${callLog}\nexec ${FAKE_SCRYPT_DIR}/scrypt "$@"\n`, { mode: 0o755 });
}

describe("qvm-backup-restore --paranoid-mode", () => {
  it("restores byte-identical through the disposable: its PATH's scrypt decrypts every file, dom0's none", () => {
    const { root, dir, pass, stream, dom0Env } = setUp();
    const target = path.join(dir, "fresh");
    fs.mkdirSync(target);
    const calls = path.join(dir, "calls.log");
    dispvmTemplate(target, "disp-backup-restore", calls);
    expect(disposablePath(target).split(":")[0]).toBe(path.join(simPaths(target).managementDispvm, "opt/dedup/bin"));
    const r = run("qvm-backup-restore", ["--paranoid-mode", "-d", "backup", "-p", pass, `cat ${stream}`], { ...dom0Env, QUBES_SIM_ROOT: target });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "-> Warning: template fedora-41 of personal is neither on this machine nor in this restore; personal will use the default template.\n" +
        "-> Warning: template fedora-41 of work is neither on this machine nor in this restore; work will use the default template.\n" +
        "-> Restored personal: private.img (262144 bytes)\n-> Restored work: private.img (524288 bytes)\n-> Done.\nexit code: 0\n",
    );
    for (const q of ["work", "personal"]) expect(qubeVolumeHashes(target, q), q).toEqual(qubeVolumeHashes(root, q));
    expect(loadQubesXml(target).domains.map(domainName)).toEqual(expect.arrayContaining(["work", "personal"]));
    // header hmac, qubes.xml, and 3 + 2 data chunks of 256 KiB (uncompressed tar members), each decrypted in the disposable's home
    const lines = fs.readFileSync(calls, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(new Set(lines.map((l) => l.split(" ")[0]))).toEqual(new Set(["dec"]));
    expect(lines.every((l) => l.split(" ")[1]!.includes("disp-backup-restore"))).toBe(true);
    // The registration ended with the restore, and the disposable's home is gone.
    expect(fs.readdirSync(simPaths(target).backupLocations)).toEqual([]);
    expect(fs.existsSync(lines[0]!.split(" ")[1]!)).toBe(false);
  });

  it("fails when the disposable's template does not put the right scrypt first, and creates no qube", () => {
    const { dir, pass, stream, dom0Env } = setUp();
    for (const [label, name] of [["no package in the template", undefined], ["a script for another qube", "work"]] as const) {
      const target = path.join(dir, `fresh-${name ?? "none"}`);
      fs.mkdirSync(target);
      if (name) dispvmTemplate(target, name, path.join(dir, "unused.log"));
      const r = run("qvm-backup-restore", ["--paranoid-mode", "-d", "backup", "-p", pass, `cat ${stream}`], { ...dom0Env, QUBES_SIM_ROOT: target });
      expect(r.code, label).toBe(1);
      expect(r.stderr.trim(), label).toBe(
        "qvm-backup-restore: qvm-backup-restore failed with 1 in the disposable qube: qvm-backup-restore: Corrupted backup header (hmac verification failed); check the passphrase.",
      );
      expect(fs.existsSync(simPaths(target).qubesXml) ? loadQubesXml(target).domains.map(domainName) : [], label).not.toContain("work");
      expect(fs.readdirSync(simPaths(target).backupLocations), label).toEqual([]);
    }
  });

  it("refuses qubes.RestoreById with an id nobody registered", () => {
    const { dir, pass } = setUp();
    const target = path.join(dir, "fresh");
    fs.mkdirSync(target);
    const r = run("qvm-backup-restore", ["--location-is-service", "-d", "backup", "-p", pass, "qubes.RestoreById+abc123"], { ...fakeEnv(), QUBES_SIM_ROOT: target });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("qubes.RestoreById: no backup location is registered under id abc123");
  });
});
