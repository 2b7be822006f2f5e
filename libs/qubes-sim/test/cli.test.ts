import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeEnv, HERE, PASS, smallSystem } from "./helpers.ts";
import { tmpDir } from "../src/testing/index.ts";

const BIN = path.join(HERE, "..", "bin");

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string) {
  const r = spawnSync(path.join(BIN, cmd), args, { env, encoding: "utf8", input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("CLIs", () => {
  it("qvm-backup to a command and qvm-backup-restore from one, with progress and a report", () => {
    const root = smallSystem();
    const dir = tmpDir("cli");
    const pass = path.join(dir, "pass");
    fs.writeFileSync(pass, `${PASS}\n`);
    const stream = path.join(dir, "stream");
    // qubesd reports progress at most once a second, none in its first: report every step
    const env = { ...fakeEnv(), QUBES_SIM_ROOT: root, QUBES_SIM_CHUNK_SIZE: "262144", QUBES_SIM_PROGRESS_INTERVAL: "0" };
    const b = run("qvm-backup", ["--yes", "--no-compress", "--passphrase-file", pass, "--dest-vm", "backup", "--exclude", "dom0", `sh -c 'cat > ${stream}'`, "personal", "dom0"], env);
    expect(b.stderr).toMatch(/^\rMaking a backup\.\.\. \d+\.\d\d%/);
    expect(b.code).toBe(0);
    const target = path.join(dir, "fresh");
    const r = run("qvm-backup-restore", ["-d", "backup", "-p", pass, `cat ${stream}`], { ...env, QUBES_SIM_ROOT: target });
    // the template is in neither the target nor the stream: said once, the qube still restored
    expect(r.stdout).toBe(
      "-> Warning: template fedora-41 of personal is neither on this machine nor in this restore; personal will use the default template.\n" +
        "-> Restored personal: private.img (262144 bytes)\n-> Done.\n",
    );
    expect(r.code).toBe(0);
  });

  it("usage errors exit 2 with the usage text; other failures exit 1 with one sentence", () => {
    const root = smallSystem();
    const env = { ...fakeEnv(), QUBES_SIM_ROOT: root };
    const u = run("qvm-backup", ["--bogus", "x"], env);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("usage: qvm-backup ");
    for (const tool of ["qvm-backup", "qvm-backup-restore", "qubes-sim-create"]) {
      const h = run(tool, ["--help"], env);
      expect(h.code, tool).toBe(0);
      expect(h.stdout, tool).toMatch(new RegExp(`^usage: ${tool} `));
    }
    expect(run("qvm-backup", ["-z", "--no-compress", "-p", "f", "loc"], env).code).toBe(2);
    expect(run("qvm-backup-restore", ["-p", "f"], env).code).toBe(2);
    expect(run("qvm-backup-restore", ["-p", "f", "--rename-conflicting", "--skip-conflicting", "loc"], env).code).toBe(2);
    const dir = tmpDir("cli");
    const m = run("qvm-backup", ["--passphrase-file", path.join(dir, "none"), dir], env);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`Cannot read the passphrase file ${path.join(dir, "none")} (ENOENT); check the path.`);
    fs.writeFileSync(path.join(dir, "pass"), "x\n");
    const q = run("qvm-backup", ["--passphrase-file", path.join(dir, "pass"), dir, "nosuchqube"], env);
    expect(q.code).toBe(1);
    expect(q.stderr).toContain('Qube "nosuchqube" does not exist');
    const f = run("qvm-backup", ["--passphrase-file", path.join(dir, "pass"), "--dest-vm", "backup", "sh -c 'head -c 1000 >/dev/null; exit 3'"], env);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/Writing backup to VM backup failed: the location command (exited \(3\)|closed its input)/);
  });

  it("qvm-run runs a command in the qube: with --pass-io its stdin, stdout and exit status are the caller's", () => {
    const env = { ...fakeEnv(), QUBES_SIM_ROOT: smallSystem() };
    const flags = ["--pass-io", "--no-gui", "--no-colour-output", "--no-colour-stderr", "--no-filter-escape-chars", "backup"];
    expect(run("qvm-run", [...flags, "tr a-z A-Z"], env, "ledger copy\n")).toMatchObject({ code: 0, stdout: "LEDGER COPY\n" });
    expect(run("qvm-run", [...flags, "echo out; echo why >&2; exit 4"], env)).toMatchObject({ code: 4, stdout: "out\n", stderr: "why\n" });
    // without --pass-io nothing passes, and a failure is exit 1
    expect(run("qvm-run", ["backup", "echo out; exit 4"], env)).toMatchObject({ code: 1, stdout: "" });
    expect(run("qvm-run", ["backup"], env).code).toBe(2);
  });
});
