// Full disks, made without root: each scenario runs in a user and mount
// namespace of its own (`unshare -Urm`) with a small tmpfs, as an
// unprivileged user can on Debian and Fedora (kernel.unprivileged_userns_clone).
// A full repository disk and a full index-db disk are each one sentence with
// the fix; the failed run keeps no space; borg's free-space reserve is said
// before a byte is read, and qubes-dedup's borg repositories reserve 64 MiB,
// not 500 MiB, so a small backup after the first one is not refused.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { engineVersion } from "@qubes-dedup/pipeline";

const HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), "helpers/full-disk.ts");
const canUnshare = spawnSync("unshare", ["-Urm", "true"]).status === 0;

/** Runs a scenario of helpers/full-disk.ts with a tmpfs of `size` mounted at a fresh directory. */
async function scenario(name: string, size: string): Promise<{ small: string; work: string; out: Record<string, any> }> {
  const work = tmpDir("full-disk");
  const small = path.join(work, "small");
  fs.mkdirSync(small);
  // not spawnSync: the worker's event loop must go on answering vitest
  const child = spawn("unshare", ["-Urm", "sh", "-c", `mount -t tmpfs -o size=${size} none "$1" && exec "$2" --import tsx "$3" "$1" "$4" "$5"`, "sh", small, process.execPath, HELPER, name, work]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((r) => child.on("close", r));
  if (code !== 0) throw new Error(`scenario ${name} failed: ${stderr}`);
  return { small, work, out: JSON.parse(stdout.trim().split("\n").pop()!) };
}

const MB = /\d+\.\d MB/;

describe.skipIf(!canUnshare)("full disks (tmpfs in a user namespace)", () => {
  it("restic: a full repository disk is one sentence with the stream's size and the fix; the run keeps no space, and the next backup prunes and succeeds", async () => {
    const { small, out } = await scenario("repo-restic", "16m");
    expect(out.first.ok && out.second.ok).toBe(true);
    const loc = path.join(small, "repo");
    expect(out.full.ok).toBe(false);
    expect(out.full.error).toMatch(new RegExp(`^the disk of the restic repository ${loc} is full \\((unable to save snapshot|Save\\(<data/[0-9a-f]+>\\) failed): .*no space left on device\\); this stream is ${MB.source} \\(before deduplication; ${MB.source} were read when it failed\\): run retention \\(forget and prune\\) or free or add space on that disk, then run the backup again; nothing of this run was kept\\.$`));
    // restic 0.14 removes a failed run's packs itself; 0.17 and later leave
    // them, and the next backup's prune (below) frees them
    const { version } = await engineVersion("restic");
    if (version?.startsWith("0.14.")) expect(out.usedAfterFailure).toBeLessThan(4 << 20);
    expect(out.next).toMatchObject({ ok: true, log: [`pruned ${loc} after the failed run before it: space no snapshot refers to is free again.`] });
  }, 300_000);

  it("borg: small backups after the first are not refused on a 90 MB disk (64 MiB segments), and a full disk is one sentence with the fix", async () => {
    const { small, out } = await scenario("repo-borg", "90m");
    expect([out.first.ok, out.second.ok]).toEqual([true, true]);
    expect(out.full.ok).toBe(false);
    const loc = path.join(small, "repo");
    expect(out.full.error).toMatch(new RegExp(`^(borg needs .* free on the disk of the repository ${loc} before it writes anything .*|the disk of the borg repository ${loc} is full \\(borg rolled its partial transaction back\\)); this stream is ${MB.source} \\(before deduplication; ${MB.source} were read when it failed\\): run retention \\(forget and prune\\) or free or add space on that disk, then run the backup again; nothing of this run was kept\\.$`));
    expect(out.next.ok).toBe(true);
  }, 300_000);

  it("borg: a repository with borg's 500 MiB reserve on a 90 MB disk is refused before the stream is read, with both figures and the fix", async () => {
    const { small, out } = await scenario("borg-reserve", "90m");
    const loc = path.join(small, "repo");
    expect(out.attempt.ok).toBe(false);
    expect(out.attempt.error).toMatch(new RegExp(`^borg needs about 5\\d\\d\\.\\d\\d MB free on the disk of the repository ${loc} before it stores a backup of any size \\(one segment file of max_segment_size plus its index\\), and only \\d+\\.\\d\\d MB are free; free or add space there, or lower the reserve with \`borg config ${loc} max_segment_size 67108864\`, then run the backup again\\.$`));
  }, 300_000);

  it("a full index-db disk is one sentence naming the db file and the fix", async () => {
    const { small, out } = await scenario("index-db", "4m");
    expect(out.first.ok).toBe(true);
    expect(out.full).toMatchObject({ ok: false, error: `the disk of the index db ${path.join(small, "index.db")} is full (SQLite: database or disk is full); free space on it, then run the command again.` });
  }, 300_000);
});
