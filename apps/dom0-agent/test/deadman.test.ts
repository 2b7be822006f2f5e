import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseQubesXml, serializeQubesXml, simPaths } from "@qubes-dedup/qubes-sim";
import { ageText, judgeFreshness, parseQvmLs, summary, watchedQubes } from "../src/deadman.ts";
import { readLedger, writeRecord } from "../src/ledger/store.ts";
import type { LedgerRecord } from "../src/ledger/record.ts";
import { standIns } from "./helpers.ts";
import { buildChain, machine, runAgent, type Machine } from "./ledger-harness.ts";

const DAY = 86400;
const record = (backupId: string, recorded: string, qubes: string[]): LedgerRecord => ({
  format: "qubes-dedup-ledger/1",
  backupId,
  recorded,
  qubesXml: { bytes: 10240, tag: "0".repeat(64) },
  qubes: qubes.map((name, i) => ({ name, path: `vm${i + 1}/`, size: 4096, files: [{ name: "private.img", bytes: 4096, chunks: ["1".repeat(64)] }] })),
});

describe("the dead-man check's rules", () => {
  it("reads qvm-ls --raw-data and watches every qube but dom0 and those with include_in_backups False", () => {
    const live = parseQvmLs("dom0|AdminVM|-\nfedora-41|TemplateVM|True\ndisp1234|DispVM|False\nwork|AppVM|True\n");
    expect(watchedQubes(live)).toEqual(["fedora-41", "work"]);
    expect(watchedQubes(parseQvmLs("work|AppVM|True\nWork|AppVM|True\nvault|AppVM|True\n"))).toEqual(["Work", "vault", "work"]);
    expect(() => parseQvmLs("work|AppVM\n")).toThrow('qvm-ls printed "work|AppVM", not name|class|include_in_backups; run this in dom0 (Qubes 4.1 or later).');
  });

  it("takes each qube's newest record, and calls it stale from N days on", () => {
    const now = new Date("2026-12-02T12:00:00.000Z");
    const records = [
      record("20261120T120000-1", "2026-11-20T12:00:00.000Z", ["work", "vault"]),
      record("20261125T120000-2", "2026-11-25T12:00:01.000Z", ["work"]),
    ];
    expect(judgeFreshness(["work", "vault", "new"], records, now, 7)).toEqual([
      { name: "work", newest: { backupId: "20261125T120000-2", recorded: "2026-11-25T12:00:01.000Z" }, ageSeconds: 7 * DAY - 1, stale: false },
      { name: "vault", newest: { backupId: "20261120T120000-1", recorded: "2026-11-20T12:00:00.000Z" }, ageSeconds: 12 * DAY, stale: true },
      { name: "new", newest: null, ageSeconds: null, stale: true },
    ]);
    expect(judgeFreshness(["work"], records, new Date("2026-12-02T12:00:01.000Z"), 7)[0]!.stale).toBe(true);
    expect([0, 3599, 3600, 7200, DAY - 1, DAY, 2 * DAY].map(ageText)).toEqual(["less than an hour", "less than an hour", "1 hour", "2 hours", "23 hours", "1 day", "2 days"]);
    expect(summary([], 7)).toBe("no qube to watch: every qube is dom0 or has include_in_backups False");
    expect(summary(judgeFreshness(["work"], records, now, 8), 8)).toBe("every watched qube has a good backup newer than 8 days");
  });
});

/** "20261122T034012-4242" for `d` (UTC; qubesd writes local time, which is UTC on the test machines too). */
const backupIdAt = (d: Date, pid: number) => `${d.toISOString().slice(0, 19).replace(/[-:]/g, "")}-${pid}`;

describe("qubes-dedup-agent deadman on the simulated dom0", { timeout: 240_000 }, () => {
  let m: Machine;
  let fresh: string;
  let old: string;

  beforeAll(async () => {
    buildChain();
    m = machine("restic");
    // vault: backed up for real, then its record moved 10 days back with the store's own writer
    expect((await runAgent(["backup", "--root", m.dom0, "vault"], m.env)).status).toBe(0);
    const [v] = readLedger(m.dom0);
    const then = new Date(Date.now() - 10 * DAY * 1000 - 60_000);
    old = backupIdAt(then, 4242);
    writeRecord(m.dom0, { ...v!, backupId: old, recorded: then.toISOString() });
    fs.rmSync(path.join(m.dom0, "var/lib/qubes-dedup/ledger", `${v!.backupId}.json`));
    // work: backed up now; fedora-41: never
    expect((await runAgent(["backup", "--root", m.dom0, "work"], m.env)).status).toBe(0);
    fresh = readLedger(m.dom0).find((r) => r.qubes.some((q) => q.name === "work"))!.backupId;
  }, 240_000);

  it("lists each qube's newest good backup, exits 3 and notifies once naming the stale qubes", async () => {
    const s = standIns();
    const env = { ...m.env, PATH: `${s.bin}:${m.env.PATH}` };
    const r = await runAgent(["deadman", "--root", m.dom0], env);
    const text = "no good backup newer than 7 days of fedora-41 (never backed up), vault (10 days old); run `qubes-dedup-agent backup` or check the backup qube's schedule";
    expect(r).toEqual({
      status: 3,
      stderr: "",
      stdout: [
        "stale  fedora-41: never backed up",
        `stale  vault: newest good backup ${old}, 10 days old`,
        `ok     work: newest good backup ${fresh}, less than an hour old`,
        text,
        "",
      ].join("\n"),
    });
    expect(s.notifications()).toEqual([["--app-name=qubes-dedup", "--urgency=critical", "--", "qubes-dedup: no recent backup", text]]);

    // --days and --json; agent.json's deadmanDays is the default
    fs.writeFileSync(path.join(m.dom0, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "backup", repo: "main", deadmanDays: 11 }));
    const j = await runAgent(["deadman", "--root", m.dom0, "--json"], env);
    expect(j.status).toBe(3);
    const report = JSON.parse(j.stdout) as { days: number; stale: string[]; qubes: { name: string; ageSeconds: number | null; stale: boolean }[] };
    expect({ days: report.days, stale: report.stale, qubes: report.qubes.map((q) => [q.name, q.stale, q.ageSeconds === null ? null : Math.floor(q.ageSeconds / DAY)]) }).toEqual({
      days: 11,
      stale: ["fedora-41"],
      qubes: [["fedora-41", true, null], ["vault", false, 10], ["work", false, 0]],
    });
    expect((await runAgent(["deadman", "--root", m.dom0, "--days", "10"], env)).stdout.split("\n").at(-2)).toBe(text.replace("7 days", "10 days"));
    expect(s.notifications()).toHaveLength(3);
  });

  it("leaves out qubes with include_in_backups False, and stays quiet with exit 0 when every watched qube is fresh", async () => {
    const xml = simPaths(m.dom0).qubesXml;
    const q = parseQubesXml(fs.readFileSync(xml, "utf8"));
    q.domains.find((d) => d.properties.some(([k, v]) => k === "name" && v === "fedora-41"))!.properties.push(["include_in_backups", "False"]);
    fs.writeFileSync(xml, serializeQubesXml(q));
    const s = standIns();
    const r = await runAgent(["deadman", "--root", m.dom0, "--days", "11"], { ...m.env, PATH: `${s.bin}:${m.env.PATH}` });
    expect(r).toEqual({
      status: 0,
      stderr: "",
      stdout: [`ok     vault: newest good backup ${old}, 10 days old`, `ok     work: newest good backup ${fresh}, less than an hour old`, "every watched qube has a good backup newer than 11 days", ""].join("\n"),
    });
    expect(s.notifications()).toEqual([]);
    expect((await runAgent(["deadman", "--root", m.dom0, "--days", "0"], m.env)).status).toBe(2);
  });

  it.skipIf(process.getuid?.() !== 0)("reaches a logged-in user's desktop through setpriv when it runs without a session bus (the timer's service)", async () => {
    const s = standIns();
    // setpriv stand-in: records its argv and the bus it was given, then runs the command
    fs.writeFileSync(path.join(s.bin, "setpriv"), `#!/bin/sh\nprintf '%s\\n' "$DBUS_SESSION_BUS_ADDRESS" "$@" > "${s.bin}/setpriv.argv"\nshift 6\nexec "$@"\n`, { mode: 0o755 });
    const bus = path.join(m.dom0, "run/user/1000/bus");
    fs.mkdirSync(path.dirname(bus), { recursive: true });
    fs.writeFileSync(bus, "");
    fs.chownSync(bus, 1000, 1000);
    const env: NodeJS.ProcessEnv = { ...m.env, PATH: `${s.bin}:${m.env.PATH}` };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    expect((await runAgent(["deadman", "--root", m.dom0, "--days", "5"], env)).status).toBe(3);
    expect(fs.readFileSync(path.join(s.bin, "setpriv.argv"), "utf8").split("\n").slice(0, 7)).toEqual([`unix:path=${bus}`, "--reuid", "1000", "--regid", "1000", "--clear-groups", "--"]);
    expect(s.notifications().map((n) => n[3])).toEqual(["qubes-dedup: no recent backup"]);
  });
});
