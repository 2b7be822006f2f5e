// The agent's own reading of qubesd.service's environment (unit file and
// drop-ins under --root), independent of the simulator's.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { SYSTEMD_DEFAULT_PATH, qubesdPath, qubesdUnitFiles, serviceEnvironment } from "../src/qubesd-env.ts";

const UNIT = "[Unit]\nDescription=Qubes OS daemon\n\n[Service]\nType=notify\nExecStart=/usr/bin/qubesd\n";

function rootWith(files: Record<string, string>): string {
  const root = tmpDir("qubesd-env");
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

describe("serviceEnvironment", () => {
  it("reads Environment= lines of [Service] only, later texts overriding earlier ones", () => {
    const env = serviceEnvironment([
      "[Unit]\nEnvironment=NOT=unit-section\n[Service]\nEnvironment=PATH=/a:/b LANG=C\n",
      "[Service]\nEnvironment=PATH=/shim:/a:/b\n",
    ]);
    expect(env).toEqual({ PATH: "/shim:/a:/b", LANG: "C" });
  });
  it("groups quoted words, honours backslash escapes, and an empty Environment= resets", () => {
    expect(serviceEnvironment(['[Service]\nEnvironment="A=one two" B=x\\ y \'C=\'\n'])).toEqual({ A: "one two", B: "x y", C: "" });
    expect(serviceEnvironment(["[Service]\nEnvironment=A=1\nEnvironment=\nEnvironment=B=2\n"])).toEqual({ B: "2" });
  });
});

describe("qubesd's unit files under a root", () => {
  it("has none, and no PATH, without a unit file", () => {
    const root = rootWith({ "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf": "[Service]\nEnvironment=PATH=/x\n" });
    expect(qubesdUnitFiles(root)).toEqual([]);
    expect(qubesdPath(root)).toBeUndefined();
  });
  it("gives systemd's default PATH when no file sets one", () => {
    expect(qubesdPath(rootWith({ "usr/lib/systemd/system/qubesd.service": UNIT }))).toBe(SYSTEMD_DEFAULT_PATH);
  });
  it("applies drop-ins in file-name order, /etc masking a same-named drop-in under /usr/lib", () => {
    const root = rootWith({
      "usr/lib/systemd/system/qubesd.service": UNIT,
      "usr/lib/systemd/system/qubesd.service.d/30-qubes-dedup.conf": "[Service]\nEnvironment=PATH=/masked\n",
      "usr/lib/systemd/system/qubesd.service.d/10-vendor.conf": "[Service]\nEnvironment=PATH=/vendor\n",
      "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf": "[Service]\nEnvironment=PATH=/usr/lib/qubes-dedup/bin:/usr/bin\n",
      "etc/systemd/system/qubesd.service.d/README": "[Service]\nEnvironment=PATH=/not-a-conf\n",
    });
    expect(qubesdUnitFiles(root).map((f) => path.relative(root, f))).toEqual([
      "usr/lib/systemd/system/qubesd.service",
      "usr/lib/systemd/system/qubesd.service.d/10-vendor.conf",
      "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf",
    ]);
    expect(qubesdPath(root)).toBe("/usr/lib/qubes-dedup/bin:/usr/bin");
  });
  it("a later drop-in overrides the shim's (a stale PATH wins over ours)", () => {
    const root = rootWith({
      "usr/lib/systemd/system/qubesd.service": UNIT,
      "etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf": "[Service]\nEnvironment=PATH=/usr/lib/qubes-dedup/bin:/usr/bin\n",
      "etc/systemd/system/qubesd.service.d/50-local.conf": "[Service]\nEnvironment=PATH=/usr/bin\n",
    });
    expect(qubesdPath(root)).toBe("/usr/bin");
  });
});
