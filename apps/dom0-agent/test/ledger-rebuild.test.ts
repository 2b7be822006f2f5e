import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { mutateVolume, simPaths } from "@qubes-dedup/qubes-sim";
import { PASS } from "./helpers.ts";
import { QUBE_NAMES, backup, backupQubeCli, buildChain, expectIdentical, freshDom0, machine, restoreInto, runAgent, snapshots, type Backup, type Machine } from "./ledger-harness.ts";

// Disaster recovery with a new dom0: the ledger's signed copy is stored in
// the repository after every backup (through the simulated qvm-run and the
// real `qubes-dedup ledger store`), and a fresh dom0 with the recovery code
// rebuilds its ledger from it, refusing a forged or a rolled-back copy.

const ledgerOf = (root: string) => path.join(root, "var/lib/qubes-dedup/ledger");
const files = (dir: string) => (fs.existsSync(dir) ? Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, fs.readFileSync(path.join(dir, n), "utf8")])) : {});

/** A new dom0 that knows only the recovery code and its configuration. */
function newDom0(m: Machine, name: string): string {
  const root = freshDom0(m, name);
  fs.mkdirSync(path.join(root, "etc/qubes-dedup"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/qubes-dedup/passphrase"), `${PASS}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(root, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "backup", repo: "main" }));
  return root;
}

/** The fetch answer's lines, parsed. */
type Line = { backup?: { snapshot: string; header: string; hmac: string }; copy?: { snapshot: string; bytes: string }; end?: true };
const fetchLines = (m: Machine): Line[] =>
  backupQubeCli(m, ["ledger", "fetch", "--repo", "main"]).toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);
const served = (m: Machine, name: string, lines: Line[]) => {
  const file = path.join(m.work, `${name}.jsonl`);
  fs.writeFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  return { SERVE_LEDGER_FILE: file };
};

describe.each(["restic", "borg"] as const)("dom0's ledger rebuilt from the repository with %s", { timeout: 240_000 }, (engine) => {
  let m: Machine;
  let b0: string;
  let b1: Backup;
  let b2: Backup;
  let afterB1: Line[];

  beforeAll(async () => {
    buildChain();
    m = machine(engine);
    // b0: a backup made before the ledger (qvm-backup run by hand: no record, no copy).
    execFileSync("qvm-backup", ["--yes", "--no-compress", "--passphrase-file", path.join(m.dom0, "etc/qubes-dedup/passphrase"), "--dest-vm", "backup", "qubes-dedup ingest --repo main", ...QUBE_NAMES], { env: m.env, stdio: "ignore" });
    fs.rmSync(path.join(m.dom0, "var/lib/qubes-dedup/spool"), { recursive: true, force: true });
    b0 = snapshots(m)[0]!.backupId;
    mutateVolume(simPaths(m.dom0).volume("vault", "private"), { seed: "b1" });
    b1 = await backup(m);
    afterB1 = fetchLines(m);
    mutateVolume(simPaths(m.dom0).volume("work", "private"), { seed: "b2" });
    b2 = await backup(m);
  }, 300_000);

  it("stores a copy per backup that neither listings nor reindex take for a backup, and only bytes of a copy's shape", () => {
    expect(snapshots(m).map((s) => s.backupId)).toEqual([b0, b1.backupId, b2.backupId]);
    const lines = fetchLines(m);
    expect(lines.filter((l) => l.backup).length).toBe(3);
    expect(Buffer.from(lines.find((l) => l.copy)!.copy!.bytes, "base64").toString("utf8")).toMatch(/^qubes-dedup-ledger-copy\/1\nmac [0-9a-f]{64}\nsequence 2\n\{"written":"/);
    expect(lines.at(-1)).toEqual({ end: true });
    // the backup qube stores only what has a copy's shape
    expect(() => backupQubeCli(m, ["ledger", "store", "--repo", "main"], Buffer.from("not a copy\n"))).toThrow(
      "qubes-dedup: the data is not a copy of dom0's ledger (fewer than three lines); only `qubes-dedup-agent` in dom0 writes them; nothing was stored.",
    );
    // a new backup qube: the index rebuilt from the repository holds the three backups only
    const env = { ...m.env, QUBES_DEDUP_DB: path.join(m.work, "reindexed.db") };
    backupQubeCli(m, ["repo", "add", "main", "--engine", engine, "--location", path.join(m.work, "repo"), "--password-file", path.join(m.work, "repo.pass")], undefined, env);
    backupQubeCli(m, ["reindex", "--repo", "main"], undefined, env);
    const again = JSON.parse(backupQubeCli(m, ["snapshots", "--repo", "main", "--json"], undefined, env).toString("utf8")) as { backupId: string }[];
    expect(again.map((s) => s.backupId)).toEqual([b0, b1.backupId, b2.backupId]);
  });

  it("rebuilds on a fresh dom0 the same ledger, and restores then pass the ledger's checks", async () => {
    const root = newDom0(m, "rebuilt");
    const r = await runAgent(["ledger", "rebuild", "--root", root], m.env);
    expect(r.stderr).toBe(
      `qubes-dedup-agent: rebuilt dom0's ledger from the repository's copy (sequence 2): 2 backups added, 0 already recorded\n` +
        `qubes-dedup-agent: warning: the repository holds backups the ledger does not record (made before it, or dom0 could not record them): ${b0}; their restores will not be checked for completeness.\n`,
    );
    expect(r.status).toBe(0);
    expect(files(ledgerOf(root))).toEqual(files(ledgerOf(m.dom0)));
    expect(fs.readFileSync(path.join(root, "var/lib/qubes-dedup/ledger-sequence"), "utf8")).toBe("2\n");
    expect(fs.statSync(path.join(root, "var/lib/qubes-dedup/ledger-sequence")).mode & 0o777).toBe(0o600);
    const target = freshDom0(m, "rebuilt-restore");
    const ok = await restoreInto(m, target, [b2.snapshot], {}, root);
    expect(ok.stderr).toContain(`qubes-dedup-agent: restore finished; every chunk of backup ${b2.backupId} that dom0's ledger lists arrived intact and in order\n`);
    expect(ok.status).toBe(0);
    expectIdentical(target, b2);
    const rollback = await restoreInto(m, freshDom0(m, "rebuilt-rollback"), [b2.snapshot], { SERVE_SNAPSHOT: b1.snapshot }, root);
    expect(rollback.stderr).toContain(`qubes-dedup-agent: restore failed: the stream's backup-header carries backup-id ${b1.backupId}, not ${b2.backupId} that was confirmed in dom0`);
    // verify names the older backup by its backup-id alone: the backup qube's dump resolves it
    const v = await runAgent(["verify", b1.backupId, "--root", root], { ...m.env, QUBES_SIM_ROOT: freshDom0(m, "rebuilt-verify") });
    expect(v.stderr).toContain(`qubes-dedup-agent: verify-only: every file checked, nothing written; every chunk of backup ${b1.backupId} that dom0's ledger lists arrived intact and in order\n`);
    expect(v.status).toBe(0);
    // the backup from before the ledger still restores, with its warning
    const old = freshDom0(m, "rebuilt-pre-ledger");
    const pre = await restoreInto(m, old, [snapshots(m)[0]!.shortId, "--backup-id", b0], {}, root);
    expect(pre.stderr).toContain(`qubes-dedup-agent: warning: backup ${b0} was made before dom0 kept its ledger, so its completeness cannot be checked.\n`);
    expect(pre.status).toBe(0);
  });

  it("a fresh dom0 refuses an older signed copy: the repository holds a later backup", async () => {
    const stale = afterB1.find((l) => l.copy)!;
    const root = newDom0(m, "rolled-back-fresh");
    const r = await runAgent(["ledger", "rebuild", "--root", root], { ...m.env, ...served(m, "rolled-back", [...fetchLines(m).filter((l) => l.backup), stale, { end: true }]) });
    expect(r.stderr).toBe(
      `qubes-dedup-agent: ledger rebuild refused: the repository's copy of dom0's ledger (sequence 1) ends at backup ${b1.backupId}, but the repository holds the later backup ${b2.backupId} made with this recovery code, so the backup qube served an older copy (a rollback); nothing was rebuilt, check the backup qube.\n`,
    );
    expect(r.status).toBe(1);
    expect(files(ledgerOf(root))).toEqual({});
  });

  it("a dom0 that saw a later sequence refuses an older copy even when the later backups are hidden", async () => {
    const r = await runAgent(["ledger", "rebuild", "--root", m.dom0], { ...m.env, ...served(m, "hidden", afterB1) });
    expect(r.stderr).toBe(
      `qubes-dedup-agent: ledger rebuild refused: the repository's copy of dom0's ledger has sequence 1, older than sequence 2 that this dom0 last wrote or saw, so the backup qube served an older copy (a rollback); nothing was rebuilt, check the backup qube.\n`,
    );
    expect(r.status).toBe(1);
  });

  it("refuses a copy altered in the repository", async () => {
    const genuine = Buffer.from(fetchLines(m).find((l) => l.copy)!.copy!.bytes, "base64").toString("utf8");
    // the backup qube drops the newest record and stores the copy with a higher sequence
    const [format, mac, , body] = genuine.split("\n");
    const parsed = JSON.parse(body!) as { written: string; records: { backupId: string }[] };
    const forged = `${format}\n${mac}\nsequence 7\n${JSON.stringify({ ...parsed, records: parsed.records.slice(0, 1) })}\n`;
    backupQubeCli(m, ["ledger", "store", "--repo", "main"], Buffer.from(forged));
    const copy = fetchLines(m).find((l) => l.copy)!.copy!;
    const root = newDom0(m, "forged");
    const r = await runAgent(["ledger", "rebuild", "--root", root], m.env);
    expect(r.stderr).toBe(
      `qubes-dedup-agent: ledger rebuild refused: the repository's copy of dom0's ledger (snapshot ${copy.snapshot}) is refused: its signature does not verify with the recovery code, so it was altered or forged; nothing was rebuilt, check the backup qube.\n`,
    );
    expect(r.status).toBe(1);
    expect(files(ledgerOf(root))).toEqual({});
  });
});
