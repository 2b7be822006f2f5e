import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createSystem, mutateVolume, runningVolumePath, shutdownQube, simPaths, startQube } from "@qubes-dedup/qubes-sim";
import { answerEveryDialog, committedVolumeHashes } from "@qubes-dedup/qubes-sim/testing";
import { QUBE_NAMES, buildChain, freshDom0, machine, runAgent, type Machine } from "./ledger-harness.ts";

// Restore points through the simulated dom0, the real shim, dom0's ledger
// and real restic: after a `backup --changed` that sent only the updated
// template and vault, the latest point takes fedora-41 and vault from the
// second backup and work from the first, in two qvm-backup-restore runs,
// the template's backup first, after one dom0 dialog.

const PREFIX = "qubes-dedup-agent: ";
const when = (id: string) => `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)} ${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}`;
type Hashes = Record<string, Record<string, string>>;
const hashesOf = (root: string, qubes: string[]): Hashes => Object.fromEntries(qubes.map((q) => [q, committedVolumeHashes(root, q)]));

/** Qube names of the live qubes.xml in `root`, in qid order. */
function liveQubes(root: string): string[] {
  return [...fs.readFileSync(simPaths(root).qubesXml, "utf8").matchAll(/<property name="name">([^<]+)<\/property>/g)].map((x) => x[1]!);
}

async function backupChanged(m: Machine): Promise<string> {
  const r = await runAgent(["backup", "--changed", "--root", m.dom0, ...QUBE_NAMES], m.env);
  expect(r.status, r.stderr).toBe(0);
  return /recorded backup (\S+) in dom0's ledger/.exec(r.stderr)![1]!;
}

describe("restore points with restic", { timeout: 300_000 }, () => {
  let m: Machine;
  let b1: string;
  let b2: string;
  let at1: Hashes;
  let at2: Hashes;

  beforeAll(async () => {
    buildChain();
    m = machine("restic");
    at1 = hashesOf(m.dom0, QUBE_NAMES);
    b1 = await backupChanged(m);
    // a template update and a change in vault: the next --changed run sends those two only
    for (const [q, v] of [["fedora-41", "root"], ["vault", "private"]] as const) {
      startQube(m.dom0, q);
      mutateVolume(runningVolumePath(m.dom0, q, v), { seed: `point-${q}`, fraction: 0.5 });
      shutdownQube(m.dom0, q);
    }
    at2 = hashesOf(m.dom0, QUBE_NAMES);
    expect(at2["fedora-41"]).not.toEqual(at1["fedora-41"]);
    b2 = await backupChanged(m);
  }, 240_000);

  it("the latest point over qrexec: one dialog naming every qube and its date, the template's backup first, byte-identical", async () => {
    const target = freshDom0(m, "point-latest");
    const env = { ...m.env, QUBES_SIM_ROOT: target, QUBES_DEDUP_AGENT_ROOT: m.dom0, QREXEC_REMOTE_DOMAIN: "backup" };
    const run = runAgent(["rpc", "restore"], env, `${JSON.stringify({ point: "latest" })}\n`);
    const dialogs = await answerEveryDialog(target, run, true);
    // one dialog for the whole plan
    expect(dialogs.length).toBe(1);
    expect(dialogs[0]!.text).toBe(
      [
        `Restore 3 qube(s) of the restore point of backup ${b2} (made ${when(b2)}) from repository main, in 2 run(s) of qvm-backup-restore?`,
        `  fedora-41: data of ${when(b2)} (backup ${b2})`,
        `  vault: data of ${when(b2)} (backup ${b2})`,
        `  work: data of ${when(b1)} (backup ${b1})`,
      ].join("\n"),
    );
    const r = await run;
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines.filter((l) => l.startsWith("note run "))).toEqual([`note run 1 of 2: fedora-41, vault from backup ${b2}`, `note run 2 of 2: work from backup ${b1}`]);
    expect(lines.at(-1)).toBe(`ok restored 3 qube(s) of restore point ${b2}: fedora-41, vault, work, in 2 run(s); every chunk dom0's ledger lists for them arrived intact and in order`);
    expect(r.status).toBe(0);
    // the template came first (lower qid), so work found it: no fallback to a default template
    expect(liveQubes(target)).toEqual(["fedora-41", "vault", "work"]);
    expect(r.stdout).not.toContain("will use the default template");
    expect(hashesOf(target, QUBE_NAMES)).toEqual({ "fedora-41": at2["fedora-41"], vault: at2.vault, work: at1.work });
  });

  it("restore --point <backup-id> in dom0: the point of the first backup, one run; a qube of a point alone", async () => {
    const target = freshDom0(m, "point-first");
    const r = await runAgent(["restore", "--root", m.dom0, "--point", b1], { ...m.env, QUBES_SIM_ROOT: target });
    expect(r.stderr).toContain(`${PREFIX}restoring 3 qube(s) of the restore point of backup ${b1} (made ${when(b1)}) from repository main, in 1 run(s) of qvm-backup-restore:\n`);
    expect(r.stderr).toContain(`${PREFIX}restored 3 qube(s) of restore point ${b1}: fedora-41, work, vault, in 1 run(s)`);
    expect(r.status).toBe(0);
    expect(hashesOf(target, QUBE_NAMES)).toEqual(at1);
    const one = freshDom0(m, "point-work");
    const w = await runAgent(["restore", "--root", m.dom0, "--point", "latest", "work"], { ...m.env, QUBES_SIM_ROOT: one });
    expect(w.stderr).toContain(`${PREFIX}  work: data of ${when(b1)} (backup ${b1})\n`);
    expect(w.status).toBe(0);
    expect(hashesOf(one, ["work"])).toEqual({ work: at1.work });
    const unknown = await runAgent(["restore", "--root", m.dom0, "--point", "latest", "nosuch"], { ...m.env, QUBES_SIM_ROOT: one });
    expect(unknown.stderr).toBe(`${PREFIX}qube nosuch is in no backup of restore point ${b2} according to dom0's ledger (it holds fedora-41, work, vault); request only those qubes.\n`);
    expect(unknown.status).toBe(1);
  });

  it("a failed run stops the plan and says which qubes were restored and which not; non-zero exit", async () => {
    // work already exists on this machine, so the second run (work from the first backup) fails
    const target = path.join(m.work, "point-fail");
    createSystem(target, { seed: "other", qubes: [{ name: "debian-12", klass: "TemplateVM", label: "black", privateSize: 4096 }, { name: "work", klass: "AppVM", template: "debian-12", label: "red", privateSize: 4096 }] });
    const env = { ...m.env, QUBES_SIM_ROOT: target, QUBES_DEDUP_AGENT_ROOT: m.dom0, QREXEC_REMOTE_DOMAIN: "backup" };
    const run = runAgent(["rpc", "restore"], env, `${JSON.stringify({ point: "latest" })}\n`);
    expect((await answerEveryDialog(target, run, true)).length).toBe(1);
    const r = await run;
    const last = r.stdout.split("\n").filter(Boolean).at(-1)!;
    expect(last).toMatch(new RegExp(`^error restore of point ${b2} stopped at run 2 of 2 \\(backup ${b1}\\): qvm-backup-restore failed \\(exit \\d+\\): .*already exist.*; restored: fedora-41, vault; not restored: work; restore those again once the cause is fixed\\.$`));
    expect(r.status).not.toBe(0);
    expect(hashesOf(target, ["fedora-41", "vault"])).toEqual({ "fedora-41": at2["fedora-41"], vault: at2.vault });
  });

  it("refuses a point before the first backup and a malformed point before anything runs", async () => {
    const target = freshDom0(m, "point-refused");
    const env = { ...m.env, QUBES_SIM_ROOT: target, QUBES_DEDUP_AGENT_ROOT: m.dom0, QREXEC_REMOTE_DOMAIN: "backup" };
    const early = await runAgent(["rpc", "restore"], env, `${JSON.stringify({ point: "2000-01-01T00:00:00Z" })}\n`);
    expect(early.stdout).toMatch(/^error: dom0's ledger records no backup at or before 2000-01-01T00:00:00Z \(the first is /);
    expect(early.status).toBe(2);
    const bad = await runAgent(["rpc", "restore"], env, `${JSON.stringify({ point: "yesterday; rm -rf /" })}\n`);
    expect(bad.stdout).toBe('error: restore point "yesterday; rm -rf /" is not valid; use latest, a backup-id (YYYYmmddTHHMMSS-<pid>) or a UTC time such as 2026-12-02T10:00:00Z.\n');
    expect(bad.status).toBe(2);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});
