// Machine names (layout/tags.ts) and the restic lock rule for a repository
// several machines share (engine/restic-locks.ts).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { tmpDir, waitLocked } from "@qubes-dedup/qubes-sim/testing";
import { engineBinary, machineNameProblem, machineTag, ofMachine, openEngine } from "../src/index.ts";
import { withMachineTag } from "../src/layout/tags.ts";
import { mayBeAnotherMachines, parseResticLock, RESTIC_STALE_AFTER_S } from "../src/engine/restic-locks.ts";

describe("machine names and tags", () => {
  it("accepts names that fit a restic tag and a borg archive name, and says why others do not", () => {
    for (const ok of ["laptop", "office-pc", "Backup_2", "a", "x".repeat(63), "host.example"]) expect(machineNameProblem(ok)).toBeUndefined();
    for (const bad of ["", "my laptop", "a,b", "a/b", "a:b", "-x", ".x", "x".repeat(64), "é"])
      expect(machineNameProblem(bad)).toBe(`invalid machine name "${bad}": use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. laptop or office-pc).`);
  });

  it("puts the machine tag right after the project tag (a borg checkpoint's suffix stays on the last tag), and nothing without a machine", () => {
    expect(withMachineTag(["qubes-dedup", "qd-run:r1", "qd-data"], "laptop")).toEqual(["qubes-dedup", "qd-machine:laptop", "qd-run:r1", "qd-data"]);
    expect(withMachineTag(["qubes-dedup", "qd-run:r1", "qd-data"], undefined)).toEqual(["qubes-dedup", "qd-run:r1", "qd-data"]);
    expect(withMachineTag(["other"], "laptop")).toEqual(["qd-machine:laptop", "other"]);
  });

  it("keeps a machine's snapshots only, and every snapshot without a machine", () => {
    const snaps = [{ id: "a", tags: ["qubes-dedup", machineTag("laptop")] }, { id: "b", tags: ["qubes-dedup", machineTag("office")] }, { id: "c", tags: ["qubes-dedup"] }, { id: "d", tags: ["qubes-dedup", "qd-machine:laptop-2"] }];
    expect(ofMachine(snaps, "laptop").map((s) => s.id)).toEqual(["a"]);
    expect(ofMachine(snaps, undefined).map((s) => s.id)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("restic locks in a repository several machines share", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  const lock = (ageS: number, hostname = "backup", pid = 4242) => ({ time: new Date(now.getTime() - ageS * 1000), hostname, pid });

  it("a young lock of this host name whose process is not running here may be another machine's; an old one, another host's or a live one's is not", () => {
    const dead = () => false;
    expect(mayBeAnotherMachines(lock(60), now, "backup", dead)).toBe(true);
    expect(mayBeAnotherMachines(lock(RESTIC_STALE_AFTER_S + 1), now, "backup", dead)).toBe(false);
    expect(mayBeAnotherMachines(lock(60, "backup-office"), now, "backup", dead)).toBe(false);
    expect(mayBeAnotherMachines(lock(60), now, "backup", () => true)).toBe(false);
  });

  it("parses restic's lock JSON", () => {
    expect(parseResticLock('{"time":"2026-12-02T11:59:00.5Z","exclusive":false,"hostname":"backup","username":"user","pid":77,"uid":1000,"gid":1000}')).toEqual({ time: new Date("2026-12-02T11:59:00.5Z"), hostname: "backup", pid: 77 });
    expect(parseResticLock("not json")).toBeUndefined();
    expect(parseResticLock('{"time":"x"}')).toBeUndefined();
  });

  it("a lock left by a killed restic stays for a machine of a shared repository, and goes without a machine name; a prune locked out says whose lock it may be", { timeout: 120_000 }, async () => {
    const dir = tmpDir("machine-locks");
    try {
      const passwordFile = path.join(dir, "pass");
      fs.writeFileSync(passwordFile, "secret\n", { mode: 0o600 });
      const location = path.join(dir, "repo");
      const plain = openEngine({ engine: "restic", location, passwordFile });
      await plain.init();
      const killed = execa(engineBinary("restic"), ["-r", location, "--password-file", passwordFile, "--no-cache", "backup", "--stdin"], { reject: false, stdin: "pipe" });
      await waitLocked("restic", location);
      killed.kill("SIGKILL");
      await killed;
      const locks = () => fs.readdirSync(path.join(location, "locks")).filter((n) => /^[0-9a-f]{64}$/.test(n));
      expect(locks()).toHaveLength(1);
      // to this machine it looks like another machine's run in progress (same host name "backup" on both is common)
      expect(await openEngine({ engine: "restic", location, passwordFile, machine: "laptop" }).removeStaleLocks()).toBe(0);
      expect(locks()).toHaveLength(1);
      expect(await plain.removeStaleLocks()).toBe(1);
      expect(locks()).toHaveLength(0);

      // another machine's backup running: a prune of this machine waits for it, and is told not to unlock
      const running = execa(engineBinary("restic"), ["-r", location, "--password-file", passwordFile, "--no-cache", "backup", "--stdin"], { reject: false, stdin: "pipe" });
      await waitLocked("restic", location);
      const pruned = await openEngine({ engine: "restic", location, passwordFile, machine: "laptop" }).prune().then(() => "pruned", (e: Error) => e.message);
      running.stdin!.end();
      await running;
      expect(pruned).toBe(`the restic repository ${location} is locked by another process, perhaps another machine's backup (several machines use it); try again once it has ended, and run \`restic -r ${location} unlock\` only if no machine is using it.`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
