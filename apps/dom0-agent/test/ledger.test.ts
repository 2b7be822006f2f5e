import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { mutateVolume, simPaths } from "@qubes-dedup/qubes-sim";
import { answerTheDialog, joinOuterStream, renameMember, splitOuterStream, type OuterMember } from "@qubes-dedup/qubes-sim/testing";
import { backup, buildChain, dumpStream, expectIdentical, freshDom0, machine, restoreInto, runAgent, type Backup, type Machine } from "./ledger-harness.ts";

// Backups and restores through dom0's ledger with the real shim (started by
// the simulated qubesd), real restic / borg, and the simulated dom0: the
// backup qube serves tampered streams, and every restore must fail naming
// the qube and the file, leaving no qube that looks restored.

interface LedgerFile {
  backupId: string;
  qubes: { name: string; path: string; files: { name: string; bytes: number; chunks: string[] }[] }[];
}

const ledgerDir = (m: Machine) => path.join(m.dom0, "var/lib/qubes-dedup/ledger");
const readRecord = (m: Machine, id: string) => JSON.parse(fs.readFileSync(path.join(ledgerDir(m), `${id}.json`), "utf8")) as LedgerFile;
const SUFFIX = "; the backup qube served an incomplete or altered stream, restore from an intact copy of the backup.";

function restoredQubes(target: string): string[] {
  const xml = simPaths(target).qubesXml;
  if (!fs.existsSync(xml)) return [];
  return [...fs.readFileSync(xml, "utf8").matchAll(/<property name="name">([^<]+)<\/property>/g)].map((x) => x[1]!).filter((n) => n !== "dom0");
}

const name = (m: OuterMember) => m.name.replace(/\.enc$/, "");
/** "2026-12-02 00:35:00" from a backup-id. */
const when = (id: string) => `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)} ${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}`;

// Every restore starts restic or borg up to three times on a loaded machine.
describe.each(["restic", "borg"] as const)("dom0's ledger with %s", { timeout: 240_000 }, (engine) => {
  let m: Machine;
  let b1: Backup;
  let b2: Backup;

  beforeAll(async () => {
    buildChain();
    m = machine(engine);
    b1 = await backup(m);
    mutateVolume(simPaths(m.dom0).volume("work", "private"), { seed: "second" });
    b2 = await backup(m);
  }, 300_000);

  it("records each backup root-only: backup-id, qubes in stream order, each file's chunks", () => {
    expect(fs.statSync(path.dirname(ledgerDir(m))).mode & 0o777).toBe(0o700);
    expect(fs.statSync(ledgerDir(m)).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(ledgerDir(m)).sort()).toEqual([`${b1.backupId}.json`, `${b2.backupId}.json`].sort());
    expect(fs.statSync(path.join(ledgerDir(m), `${b2.backupId}.json`)).mode & 0o777).toBe(0o600);
    // b1 is of the system as created (deterministic); b2 after work's private volume changed.
    const r = readRecord(m, b1.backupId);
    for (const f of [...r.qubes, ...readRecord(m, b2.backupId).qubes].flatMap((q) => q.files)) expect(f.chunks.length, f.name).toBe(Math.ceil(f.bytes / (64 * 1024)));
    expect(readRecord(m, b2.backupId).qubes.map((q) => q.name)).toEqual(["fedora-41", "work", "vault"]);
    expect(r.qubes.map((q) => [q.name, q.files.map((f) => `${f.name}:${f.chunks.length}`)])).toEqual([
      ["fedora-41", ["root.img:5", "private.img:1"]],
      ["work", ["private.img:3", "firewall.xml:1"]],
      ["vault", ["private.img:4", "firewall.xml:1", "notes.txt:1"]],
    ]);
    expect(fs.readdirSync(path.join(m.dom0, "var/lib/qubes-dedup/spool"))).toEqual([]);
  });

  it("restores the newest backup byte-identical, naming it from the ledger", async () => {
    const target = freshDom0(m, "restore-newest");
    const r = await restoreInto(m, target, [b2.snapshot]);
    expect(r.stderr).toContain(`qubes-dedup-agent: restoring fedora-41, work, vault from backup ${b2.backupId} made `);
    expect(r.stderr).toContain(`qubes-dedup-agent: restore finished; every chunk of backup ${b2.backupId} that dom0's ledger lists arrived intact and in order\n`);
    expect(r.status).toBe(0);
    expectIdentical(target, b2);
  });

  it("refuses an older snapshot served in place of the newest before any qube exists", async () => {
    const target = freshDom0(m, "rollback");
    const r = await restoreInto(m, target, [b2.snapshot], { SERVE_SNAPSHOT: b1.snapshot });
    expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: the stream's backup-header carries backup-id ${b1.backupId}, not ${b2.backupId} that was confirmed in dom0 (the backup qube served another backup); nothing was restored, check the repository's snapshots and restore again.\n`);
    expect(r.status).not.toBe(0);
    expect(restoredQubes(target)).toEqual([]);
    expect(fs.existsSync(path.join(target, "volumes"))).toBe(false);
  });

  it("restores an explicitly requested older backup, saying it is older", async () => {
    const target = freshDom0(m, "older");
    const r = await restoreInto(m, target, [b1.snapshot, "--backup-id", b1.backupId]);
    expect(r.stderr).toContain(`qubes-dedup-agent: restoring fedora-41, work, vault from an older backup, backup ${b1.backupId} made `);
    expect(r.stderr).toContain(`qubes-dedup-agent: This is an older backup: backup ${b2.backupId} (made `);
    expect(r.status).toBe(0);
    expectIdentical(target, b1);
  });

  it("asks dom0 with the ledger's backup-id, date and qubes over qrexec; an older backup only when asked for, and said so", async () => {
    const target = freshDom0(m, "rpc-older");
    const env = { ...m.env, QUBES_SIM_ROOT: target, QUBES_DEDUP_AGENT_ROOT: m.dom0, QREXEC_REMOTE_DOMAIN: "backup" };
    const older = runAgent(["rpc", "restore"], env, `${JSON.stringify({ snapshot: b1.snapshot, backupId: b1.backupId })}\n`);
    const dialog = await answerTheDialog(target, true);
    expect(dialog.title).toBe("qubes-dedup: restore");
    expect(dialog.text).toBe(
      `Restore fedora-41, work, vault from an older backup, backup ${b1.backupId} made ${when(b1.backupId)}, from snapshot ${b1.snapshot} of repository main?\n` +
        `This is an older backup: backup ${b2.backupId} (made ${when(b2.backupId)}) is newer and holds fedora-41, work, vault.`,
    );
    const r = await older;
    expect(r.stdout.split("\n").at(-2)).toBe(`ok restored 3 qube(s): fedora-41, vault, work from snapshot ${b1.snapshot}; every chunk dom0's ledger lists for backup ${b1.backupId} arrived intact and in order`);
    expect(r.status).toBe(0);
    expectIdentical(target, b1);
    const again = freshDom0(m, "rpc-declined");
    const declined = runAgent(["rpc", "restore"], { ...env, QUBES_SIM_ROOT: again }, `${JSON.stringify({ snapshot: b2.snapshot, qubes: ["work"] })}\n`);
    expect((await answerTheDialog(again, false)).text).toBe(`Restore work from backup ${b2.backupId} made ${when(b2.backupId)}, from snapshot ${b2.snapshot} of repository main?`);
    expect(await declined).toMatchObject({ status: 2, stdout: "error: the restore was declined in dom0's confirmation dialog; nothing was restored.\n" });
    expect(fs.existsSync(path.join(again, "volumes"))).toBe(false);
  });

  it("verify checks a stored backup against the ledger without restoring it", async () => {
    const target = freshDom0(m, "verify");
    const ok = await runAgent(["verify", "--root", m.dom0], { ...m.env, QUBES_SIM_ROOT: target });
    expect(ok.stderr).toContain(`qubes-dedup-agent: verify-only: every file checked, nothing written; every chunk of backup ${b2.backupId} that dom0's ledger lists arrived intact and in order\n`);
    expect(ok.status).toBe(0);
    const rolledBack = await runAgent(["verify", "--root", m.dom0], { ...m.env, QUBES_SIM_ROOT: target, SERVE_SNAPSHOT: b1.snapshot });
    expect(rolledBack.stderr).toContain(`qubes-dedup-agent: verify failed: the stream's backup-header carries backup-id ${b1.backupId}, not ${b2.backupId}`);
    expect(rolledBack.status).toBe(1);
    expect(fs.readdirSync(target)).toEqual([]);
    // Over qrexec (the dashboard's verification): no dialog, the same checks.
    const rpc = await runAgent(["rpc", "restore"], { ...m.env, QUBES_SIM_ROOT: target, QUBES_DEDUP_AGENT_ROOT: m.dom0, QREXEC_REMOTE_DOMAIN: "backup" }, `${JSON.stringify({ snapshot: "latest", verifyOnly: true })}\n`);
    expect(rpc.stdout.split("\n").at(-2)).toBe(`ok verified 3 qube(s): fedora-41, vault, work from snapshot latest; every chunk dom0's ledger lists for backup ${b2.backupId} arrived intact and in order`);
    expect(fs.existsSync(path.join(target, "dialogs"))).toBe(false);
    const list = await runAgent(["ledger", "list", "--root", m.dom0], m.env);
    expect(list.stdout).toMatch(new RegExp(`^${b1.backupId}  ${when(b1.backupId)}  16 chunks  fedora-41, work, vault\n${b2.backupId}  ${when(b2.backupId)}  \\d+ chunks  fedora-41, work, vault\n$`));
  });

  it("restores a backup made before the ledger, warning that its completeness cannot be checked", async () => {
    const file = path.join(ledgerDir(m), `${b1.backupId}.json`);
    fs.renameSync(file, `${file}.away`);
    try {
      const target = freshDom0(m, "pre-ledger");
      const r = await restoreInto(m, target, [b1.snapshot, "--backup-id", b1.backupId]);
      expect(r.stderr).toContain(`qubes-dedup-agent: warning: backup ${b1.backupId} was made before dom0 kept its ledger, so its completeness cannot be checked.\n`);
      expect(r.stderr).toContain("qubes-dedup-agent: restore finished\n");
      expect(r.status).toBe(0);
      expectIdentical(target, b1);
    } finally {
      fs.renameSync(`${file}.away`, file);
    }
  });

  describe.runIf(engine === "restic")("a tampered stream fails the restore naming the qube and the file", () => {
    let members: OuterMember[];
    let old: OuterMember[];
    let workDir = "";
    let chunksOfWork = 0;
    let n = 0;

    beforeAll(() => {
      members = splitOuterStream(dumpStream(m, b2.snapshot));
      old = splitOuterStream(dumpStream(m, b1.snapshot));
      const work = readRecord(m, b2.backupId).qubes.find((q) => q.name === "work")!;
      workDir = work.path;
      chunksOfWork = work.files[0]!.chunks.length;
      expect(chunksOfWork).toBeGreaterThanOrEqual(3);
    }, 120_000);

    /** Serves `stream` in place of the newest snapshot; restores everything into a fresh dom0. */
    async function tampered(stream: Buffer, qubes: string[] = []) {
      const file = path.join(m.work, `served-${++n}.bin`);
      fs.writeFileSync(file, stream);
      const target = freshDom0(m, `tampered-${n}`);
      const r = await restoreInto(m, target, [b2.snapshot, ...qubes], { SERVE_FILE: file });
      return { r, target };
    }

    const at = (file: string) => members.findIndex((x) => name(x) === file);
    const without = (...files: string[]) => members.filter((x) => !files.includes(name(x)));

    it("the untampered stream, served from a file the same way, restores byte-identical", async () => {
      const { r, target } = await tampered(joinOuterStream(members));
      expect(r.status).toBe(0);
      expectIdentical(target, b2);
    });

    it("one qube's files removed from the stream", async () => {
      const { r, target } = await tampered(joinOuterStream(members.filter((x) => !x.name.startsWith(readRecord(m, b2.backupId).qubes[2]!.path))));
      expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: qube vault is missing from the stream: none of its files arrived, the first one is private.img${SUFFIX}\n`);
      expect(r.status).not.toBe(0);
      expect(restoredQubes(target)).toEqual([]);
    });

    it("the last chunk of a volume removed at the chunk boundary", async () => {
      const last = `${workDir}private.img.${String(chunksOfWork - 1).padStart(3, "0")}`;
      const { r, target } = await tampered(joinOuterStream(without(last)));
      expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: qube work, file private.img: only ${chunksOfWork - 1} of ${chunksOfWork} chunks arrived, its last chunks are missing (qube work's chunk 000 of firewall.xml arrived instead)${SUFFIX}\n`);
      expect(r.status).not.toBe(0);
      expect(restoredQubes(target)).toEqual([]);
    });

    it("the stream cut inside a chunk", async () => {
      const i = at(`${workDir}private.img.001`);
      const cut = joinOuterStream(members.slice(0, i)).length + 7000;
      const { r, target } = await tampered(joinOuterStream(members).subarray(0, cut));
      expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: qube work, file private.img: only 1 of ${chunksOfWork} chunks arrived, its last chunks are missing${SUFFIX}\n`);
      expect(r.status).not.toBe(0);
      expect(restoredQubes(target)).toEqual([]);
    });

    it("two chunks of one volume swapped", async () => {
      const s = [...members];
      const [a, b] = [at(`${workDir}private.img.001`), at(`${workDir}private.img.002`)];
      [s[a], s[b]] = [s[b]!, s[a]!];
      const { r, target } = await tampered(joinOuterStream(s));
      expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: qube work, file private.img: chunk 002 arrived where chunk 001 of ${chunksOfWork} was expected (chunks missing, swapped or repeated)${SUFFIX}\n`);
      expect(r.status).not.toBe(0);
      expect(restoredQubes(target)).toEqual([]);
    });

    it("a chunk replaced by the same path from another backup", async () => {
      const file = `${workDir}private.img.001`;
      const s = members.map((x) => (name(x) === file ? old.find((o) => name(o) === file)! : x));
      const { r, target } = await tampered(joinOuterStream(s));
      expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: qube work, file private.img: chunk 001 is not the chunk dom0 backed up (replaced, swapped or from another backup)${SUFFIX}\n`);
      expect(r.status).not.toBe(0);
      expect(restoredQubes(target)).toEqual([]);
    });

    it("a file added to a qube, and a qube the ledger does not list", async () => {
      const s = [...members];
      s.splice(at(`${workDir}firewall.xml.000`), 0, renameMember(members[at(`${workDir}private.img.000`)]!, `${workDir}extra.img.000.enc`));
      const { r, target } = await tampered(joinOuterStream(s));
      expect(r.stderr).toContain(`qubes-dedup-agent: restore failed: qube work: the stream holds the file extra.img, which backup ${b2.backupId} did not contain according to dom0's ledger${SUFFIX}\n`);
      expect(r.status).not.toBe(0);
      expect(restoredQubes(target)).toEqual([]);
      const ghost = await restoreInto(m, freshDom0(m, "ghost"), [b2.snapshot, "work", "ghost"]);
      expect(ghost).toMatchObject({ status: 1, stderr: `qubes-dedup-agent: qube ghost is in no backup dom0's ledger records (the newest, ${b2.backupId}, holds fedora-41, work, vault); request only qubes that were backed up.\n` });
    });

    it("a missing last file the stock restore does not notice: the qube is removed, the complete ones reported", async () => {
      const { r, target } = await tampered(joinOuterStream(members.slice(0, -1)));
      expect(name(members.at(-1)!)).toMatch(/^vm[0-9]+\/notes\.txt\.000$/);
      expect(r.stderr).toContain(`qubes-dedup-agent: removed qube vault: this run restored it incompletely\nqubes-dedup-agent: restore failed: qube vault, file notes.txt is missing from the stream${SUFFIX}\n`);
      expect(r.status).toBe(1);
      expect(restoredQubes(target)).toEqual(["fedora-41", "work"]);
      expect(fs.existsSync(simPaths(target).volumeDir("vault"))).toBe(false);
      expectIdentical(target, b2, ["fedora-41", "work"]);
    });
  });
});
