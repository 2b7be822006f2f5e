import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createSystem, simPaths } from "@qubes-dedup/qubes-sim";
import { SECRET, scratch } from "./helpers.ts";

// A whole simulated qvm-backup + qvm-backup-restore (libs/qubes-sim's
// commands) with the shim first on PATH, in each mode.
const SIM_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../qubes-sim/dist/bin");
const KiB = 1024;

/** Runs a command without blocking the test worker; collects stderr. */
function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stderr: string }> {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stderr }));
  });
}

async function roundTrip(passphrase: string): Promise<Buffer> {
  const { dir, env } = scratch();
  const src = path.join(dir, "src");
  const dst = path.join(dir, "dst");
  createSystem(src, { qubes: [{ name: "work", klass: "StandaloneVM", privateSize: 256 * KiB, rootSize: 128 * KiB }] });
  const passFile = path.join(dir, "pass");
  fs.writeFileSync(passFile, `${passphrase}\n`, { mode: 0o600 });
  const backup = path.join(dir, "backup.bin");
  const b = await exec(path.join(SIM_BIN, "qvm-backup"), ["--yes", "--no-compress", "--passphrase-file", passFile, "--dest-vm", "dom0", backup, "work"], {
    ...env,
    QUBES_SIM_ROOT: src,
    QUBES_SIM_PROGRESS_INTERVAL: "0", // qubesd reports at most once a second, none in its first: report every step
  });
  expect(b.stderr).toMatch(/Making a backup\.\.\. 100\.00%/);
  expect(b.status).toBe(0);
  fs.mkdirSync(dst);
  const r = await exec(path.join(SIM_BIN, "qvm-backup-restore"), ["-d", "dom0", "-p", passFile, backup, "work"], { ...env, QUBES_SIM_ROOT: dst });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  for (const vol of ["private", "root"]) {
    expect(fs.readFileSync(simPaths(dst).volume("work", vol)).equals(fs.readFileSync(simPaths(src).volume("work", vol))), vol).toBe(true);
  }
  return fs.readFileSync(backup);
}

describe("simulated backup and restore through the shim", () => {
  it("authenticated pass-through: chunks carry the data in the clear plus trailers", { timeout: 60_000 }, async () => {
    const backup = await roundTrip(SECRET);
    expect(backup.includes(Buffer.from("qddmac\0\x01", "latin1"))).toBe(true);
    expect(backup.includes(Buffer.from("scrypt\0", "latin1"))).toBe(false);
  });

  // About 8 real-scrypt calls at 5-15 s each: run with QUBES_DEDUP_SLOW_TESTS=1.
  // The fallback itself is covered by fallback.test.ts on every run.
  it.runIf(process.env.QUBES_DEDUP_SLOW_TESTS === "1")("ordinary passphrase: every chunk goes through the real scrypt", { timeout: 300_000 }, async () => {
    const backup = await roundTrip("correct horse battery staple");
    expect(backup.includes(Buffer.from("scrypt\0", "latin1"))).toBe(true);
    expect(backup.includes(Buffer.from("qddmac\0\x01", "latin1"))).toBe(false);
  });
});
