import { describe, expect, it } from "vitest";
import { DROP_IN_FILE, InstallConflictError, MANIFEST_FILE, SHIM_FILE, installStatus, planInstall, planUninstall, wantedFiles, type InstallOp, type PathState } from "../src/index.ts";

/** A tiny in-memory file system to apply plans to. */
class MemFs {
  entries = new Map<string, PathState>([["/etc", { kind: "dir" }], ["/usr", { kind: "dir" }], ["/usr/lib", { kind: "dir" }]]);
  observe = (p: string): PathState => this.entries.get(p) ?? { kind: "missing" };
  apply(ops: InstallOp[]): void {
    for (const op of ops) {
      if (op.op === "mkdir") this.entries.set(op.path, { kind: "dir" });
      else if (op.op === "write") this.entries.set(op.path, { kind: "file", mode: op.mode, content: op.content });
      else if (op.op === "chmod") this.entries.set(op.path, { ...(this.entries.get(op.path) as { kind: "file"; mode: number; content: Buffer }), mode: op.mode });
      else if (op.op === "remove") this.entries.delete(op.path);
      else if (![...this.entries.keys()].some((k) => k.startsWith(`${op.path}/`))) this.entries.delete(op.path);
    }
  }
  snapshot(): string {
    return JSON.stringify([...this.entries].sort());
  }
}

describe("install plan", () => {
  const wanted = wantedFiles(Buffer.from("#!/usr/bin/env node\n"));

  it("installs into its own directory plus a qubesd drop-in, idempotently, and uninstalls exactly", () => {
    const fs = new MemFs();
    const before = fs.snapshot();
    const ops = planInstall(wanted, fs.observe);
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      "mkdir /usr/lib/qubes-dedup",
      "mkdir /usr/lib/qubes-dedup/bin",
      "mkdir /etc/systemd",
      "mkdir /etc/systemd/system",
      "mkdir /etc/systemd/system/qubesd.service.d",
      "write /usr/lib/qubes-dedup/bin/scrypt",
      "write /usr/lib/qubes-dedup/bin/real-scrypt",
      "write /etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf",
      `write ${MANIFEST_FILE}`,
    ]);
    expect(ops.some((o) => o.path === "/usr/bin/scrypt")).toBe(false);
    fs.apply(ops);
    expect(planInstall(wanted, fs.observe)).toEqual([]);
    expect(installStatus(wanted, fs.observe).every((s) => s.state === "ok")).toBe(true);
    const drop = fs.observe(DROP_IN_FILE);
    expect(drop.kind === "file" && drop.content.toString()).toContain("Environment=PATH=/usr/lib/qubes-dedup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n");
    fs.apply(planUninstall(fs.observe));
    expect(fs.snapshot()).toBe(before);
    expect(planUninstall(fs.observe)).toEqual([]);
  });

  it("updates a changed shim and keeps directories that existed before", () => {
    const fs = new MemFs();
    fs.entries.set("/etc/systemd", { kind: "dir" });
    fs.entries.set("/etc/systemd/system", { kind: "dir" });
    const before = fs.snapshot();
    fs.apply(planInstall(wanted, fs.observe));
    const newer = wantedFiles(Buffer.from("#!/usr/bin/env node\n// v2\n"));
    expect(planInstall(newer, fs.observe).map((o) => `${o.op} ${o.path}`)).toEqual([`write ${SHIM_FILE}`]);
    fs.apply(planInstall(newer, fs.observe));
    expect(installStatus(wanted, fs.observe)[0]).toEqual({ path: SHIM_FILE, state: "different" });
    fs.apply(planUninstall(fs.observe));
    expect(fs.snapshot()).toBe(before);
  });

  it("refuses to overwrite a file it did not write", () => {
    const fs = new MemFs();
    fs.entries.set("/etc/systemd", { kind: "dir" });
    fs.entries.set("/etc/systemd/system", { kind: "dir" });
    fs.entries.set("/etc/systemd/system/qubesd.service.d", { kind: "dir" });
    fs.entries.set(DROP_IN_FILE, { kind: "file", mode: 0o644, content: Buffer.from("[Service]\n") });
    expect(() => planInstall(wanted, fs.observe)).toThrow(InstallConflictError);
    expect(() => planInstall(wanted, fs.observe)).toThrow(`${DROP_IN_FILE} exists and was not written by qubes-dedup; move it away and run install again.`);
  });
});
