// Issue 17: scrypt for backups is started by qubesd with qubesd.service's
// environment (unit file + drop-ins under the simulated root), never the
// caller's; and qubesd only logs a chunk's scrypt exit status.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem, qubesdEnvironment, runBackup, unitEnvironment, SYSTEMD_SERVICE_PATH, type QubeSpec } from "../src/index.ts";
import { FAKE_SCRYPT_DIR, fakeEnv, HERE, members, PASS } from "./helpers.ts";
import { tmpDir } from "../src/testing/index.ts";

const KiB = 1024;
const BIN = path.join(HERE, "..", "bin");
const QUBES: QubeSpec[] = [{ name: "solo", klass: "StandaloneVM", privateSize: 64 * KiB, rootSize: 128 * KiB }];
/** What `qubes-dedup-agent shim install` writes (libs/shim/src/install-plan.ts dropInText). */
const AGENT_DROP_IN = "[Service]\nEnvironment=PATH=/usr/lib/qubes-dedup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n";
const DROP_IN = "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf";

function qubesdSystem(): string {
  const root = path.join(tmpDir("sys"), "root");
  createSystem(root, { seed: "qubesd", qubes: QUBES, qubesd: true });
  return root;
}

/** Which `scrypt` a PATH finds (like execvp). */
function which(pathValue: string | undefined, cmd = "scrypt"): string | undefined {
  for (const d of (pathValue ?? "").split(":")) {
    const f = path.join(d, cmd);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Puts a logging wrapper of the test scrypt at `<root><dir>/scrypt`. */
function installScrypt(root: string, dir: string): string {
  const log = path.join(root, "qubesd-scrypt.log");
  fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.writeFileSync(path.join(root, dir, "scrypt"), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${FAKE_SCRYPT_DIR}/scrypt" "$@"\n`, { mode: 0o755 });
  return log;
}

function writeDropIn(root: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, DROP_IN)), { recursive: true });
  fs.writeFileSync(path.join(root, DROP_IN), text);
}

describe("qubesd's environment", () => {
  it("parses Environment= lines of [Service] in order: quotes, several assignments, an empty one resets", () => {
    expect(unitEnvironment(["[Service]\nEnvironment=A=1 \"B=two words\"\n[Install]\nEnvironment=C=3\n", "[Service]\nEnvironment=A=4\n"])).toEqual({ A: "4", B: "two words" });
    expect(unitEnvironment(["[Service]\nEnvironment=A=1\n", "[Service]\nEnvironment=\nEnvironment=D=5\n"])).toEqual({ D: "5" });
  });

  it("without a drop-in: systemd's default PATH, so the host's real scrypt, whatever the caller's PATH says", () => {
    const root = qubesdSystem();
    const env = qubesdEnvironment(root);
    expect(env.PATH).toBe(SYSTEMD_SERVICE_PATH);
    expect(env.FAKE_SCRYPT_LOG).toBeUndefined();
    expect(which(env.PATH)).toBe(which(SYSTEMD_SERVICE_PATH));
  });

  it("with the agent's drop-in and the shim directory in the root, scrypt is the root's", () => {
    const root = qubesdSystem();
    writeDropIn(root, AGENT_DROP_IN);
    installScrypt(root, "/usr/lib/qubes-dedup/bin");
    expect(which(qubesdEnvironment(root).PATH)).toBe(path.join(root, "usr/lib/qubes-dedup/bin/scrypt"));
  });

  it("a stale drop-in (PATH without the shim directory first) finds the real scrypt again", () => {
    const root = qubesdSystem();
    installScrypt(root, "/usr/lib/qubes-dedup/bin");
    writeDropIn(root, "[Service]\nEnvironment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/usr/lib/qubes-dedup/bin\n");
    expect(which(qubesdEnvironment(root).PATH)).toBe(which(SYSTEMD_SERVICE_PATH));
  });

  it("qvm-backup runs the chunks' scrypt found through qubesd's drop-in, not through the caller's PATH", () => {
    const root = qubesdSystem();
    writeDropIn(root, "[Service]\nEnvironment=PATH=/opt/qubesd-scrypt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n");
    const qubesdLog = installScrypt(root, "/opt/qubesd-scrypt/bin");
    const out = tmpDir("cli");
    const callerLog = path.join(out, "caller-scrypt.log");
    fs.writeFileSync(path.join(out, "pass"), `${PASS}\n`);
    const r = spawnSync(path.join(BIN, "qvm-backup"), ["--yes", "--no-compress", "--passphrase-file", path.join(out, "pass"), "--dest-vm", "backup", "--exclude", "dom0", `sh -c 'cat > ${out}/stream'`], {
      env: { ...fakeEnv(callerLog), QUBES_SIM_ROOT: root },
      encoding: "utf8",
    });
    expect(r.stderr).not.toMatch(/qvm-backup:/);
    expect(r.status).toBe(0);
    const calls = fs.readFileSync(qubesdLog, "utf8").trim().split("\n");
    expect(calls.some((c) => /^enc - \S+\/vm1\/private\.img\.000\.enc$/.test(c))).toBe(true);
    expect(calls.filter((c) => c.startsWith("enc "))).toHaveLength(calls.length);
    expect(fs.existsSync(callerLog)).toBe(false);
  });
});

describe("a chunk's scrypt exit status is only logged", () => {
  it("sends whatever file the failed scrypt left and completes the backup", async () => {
    const root = path.join(tmpDir("sys"), "root");
    createSystem(root, { seed: "fail", qubes: [{ name: "solo", klass: "StandaloneVM", privateSize: 512 * KiB, rootSize: 64 * KiB }] });
    const bad = path.join(tmpDir("bad"), "scrypt");
    // For one chunk: reads all input, writes a file without it, fails.
    fs.writeFileSync(bad, `#!/bin/sh\nout=$3\ncase "$1:$out" in enc:*vm1/private.img.000.enc) cat >/dev/null; "${FAKE_SCRYPT_DIR}/scrypt" enc /dev/null "$out" </dev/null; echo "scrypt: boom" >&2; exit 1;; esac\nexec "${FAKE_SCRYPT_DIR}/scrypt" "$@"\n`, { mode: 0o755 });
    const out = tmpDir("out");
    const logged: string[] = [];
    await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: { ...fakeEnv(), PATH: `${path.dirname(bad)}:${fakeEnv().PATH}` }, exclude: ["dom0"], log: (l) => logged.push(l), chunkSize: 16 * KiB });
    const ms = members(fs.readFileSync(path.join(out, fs.readdirSync(out)[0]!)));
    const chunk = ms.find((m) => m.name === "vm1/private.img.000.enc")!;
    expect(chunk.size).toBe(43); // the test scrypt's header over no data
    expect(ms.some((m) => m.name === "vm1/private.img.001.enc")).toBe(true);
    expect(logged).toEqual([expect.stringMatching(/^scrypt return code: 1 for vm1\/private\.img\.000\.enc \(scrypt: boom\)$/)]);
  });
});
