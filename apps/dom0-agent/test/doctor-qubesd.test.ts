// doctor under --root on a simulated dom0 whose qubesd is simulated (qubes-sim
// `createSystem({ qubesd: true })`): backups' scrypt is found through qubesd's
// unit file and drop-ins, so a missing or stale drop-in means the real scrypt.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { agent } from "./helpers.ts";
import { formatCheck, judgeRunningQubesd } from "../src/doctor.ts";

const SIM_CREATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../libs/qubes-sim/bin/qubes-sim-create");

const DROP_IN = "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf";

function simulatedDom0(): string {
  const dir = tmpDir("simdom0");
  const spec = path.join(dir, "spec.json");
  fs.writeFileSync(spec, JSON.stringify({ qubes: [{ name: "solo", klass: "StandaloneVM", privateSize: 4096, rootSize: 4096 }] }));
  execFileSync(SIM_CREATE, ["--qubesd", "--spec", spec, path.join(dir, "root")]);
  return path.join(dir, "root");
}

const qubesdLine = (stdout: string) => stdout.split("\n").find((l) => l.includes("running qubesd:"));

describe("doctor and the simulated qubesd", () => {
  it("fails while qubesd's environment finds the real scrypt, and is ok once the shim is installed", () => {
    const root = simulatedDom0();
    expect(qubesdLine(agent(["doctor", "--root", root]).stdout)).toBe(
      `FAIL  running qubesd: the simulated qubesd finds /usr/bin/scrypt on its PATH, not ${root}/usr/lib/qubes-dedup/bin/scrypt, so backup chunks go through the real scrypt and will not deduplicate; fix: run \`qubes-dedup-agent shim install --root ${root}\``,
    );
    expect(agent(["shim", "install", "--root", root]).status).toBe(0);
    expect(qubesdLine(agent(["doctor", "--root", root]).stdout)).toBe(`ok    running qubesd: the simulated qubesd finds ${root}/usr/lib/qubes-dedup/bin/scrypt first on its PATH`);
  });

  it("fails on a stale drop-in that no longer puts the shim first", () => {
    const root = simulatedDom0();
    expect(agent(["shim", "install", "--root", root]).status).toBe(0);
    fs.writeFileSync(path.join(root, DROP_IN), "[Service]\nEnvironment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/usr/lib/qubes-dedup/bin\n");
    expect(qubesdLine(agent(["doctor", "--root", root]).stdout)).toMatch(/^FAIL {2}running qubesd: the simulated qubesd finds \/usr\/bin\/scrypt on its PATH, not /);
  });

  it("still skips the check for a root without a qubesd unit file", () => {
    const root = tmpDir("bare");
    expect(qubesdLine(agent(["doctor", "--root", root]).stdout)).toBe("skip  running qubesd: not checked under --root");
  });
});

describe("doctor on a real dom0: the running qubesd judged from systemctl show and its /proc environ", () => {
  const shown = (env: string, pid: number) => `Environment=${env}\nMainPID=${pid}\n`;
  const SHIM_PATH = "PATH=/usr/lib/qubes-dedup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
  const OLD_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

  it("passes when the unit and the running process both put the shim first", () => {
    const c = judgeRunningQubesd(shown(SHIM_PATH, 1234), `LANG=C\0${SHIM_PATH}\0`);
    expect(formatCheck(c)).toBe("ok    running qubesd: pid 1234, its PATH starts with /usr/lib/qubes-dedup/bin");
  });

  it("fails with the restart as fix when systemd reread the drop-in but qubesd runs with its old PATH", () => {
    const c = judgeRunningQubesd(shown(SHIM_PATH, 1234), `LANG=C\0${OLD_PATH}\0`);
    expect(formatCheck(c)).toBe(
      "FAIL  running qubesd: qubesd (pid 1234) still runs with the PATH it had before the shim was installed: it was not restarted since; fix: systemctl restart qubesd (when no backup or restore runs)",
    );
  });

  it("fails with daemon-reload when the unit has not the drop-in's PATH, and names a stopped or unreadable qubesd", () => {
    expect(formatCheck(judgeRunningQubesd(shown(OLD_PATH, 1234), `${OLD_PATH}\0`))).toBe(
      "FAIL  running qubesd: the qubesd unit's PATH does not start with /usr/lib/qubes-dedup/bin: systemd has not read the drop-in; fix: systemctl daemon-reload && systemctl restart qubesd (when no backup or restore runs)",
    );
    expect(formatCheck(judgeRunningQubesd(shown(SHIM_PATH, 0), ""))).toBe("FAIL  running qubesd: qubesd is not running; fix: systemctl start qubesd");
    expect(formatCheck(judgeRunningQubesd(shown(SHIM_PATH, 99), undefined))).toBe(
      "FAIL  running qubesd: cannot read the environment of qubesd (pid 99); fix: run doctor as root (sudo)",
    );
  });
});
