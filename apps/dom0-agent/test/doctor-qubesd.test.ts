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
