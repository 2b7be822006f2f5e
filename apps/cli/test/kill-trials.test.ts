// Slow tier (QUBES_DEDUP_SLOW=1; tools/test.sh runs it as its last step): the
// bundled `qubes-dedup ingest` and `dump` killed with SIGKILL at random
// moments inside their run, QUBES_DEDUP_TRIALS (default 20) times per
// engine, and SIGTERM after the stream was read (QUBES_DEDUP_TERM_TRIALS,
// default 5). After every fault: no incomplete run is offered (the index and
// a second index rebuilt by reindex list complete backups only, and every
// complete run), the next backup succeeds with no lock left behind, the
// engine's own check passes, and the latest backup dumps byte for byte. The
// figures are printed at the end (faults injected, kills that came after the
// process had ended, bad snapshots offered, runs that needed manual repair,
// stale locks after the next run, how SIGTERMs ended) with the tier's time.
//
// What keeps a trial cheap: a 1.3 MiB stream, one repository per engine for
// every trial, the read-only listings and the reindex run at the same time and
// in this process (the same libs/service calls as the CLI's), and the two
// engines' trials at the same time. The killed processes, the next backup and
// the dump stay real CLI runs.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataSnapshotsOf, incompleteRunsOf, openEngine, type Engine, type EngineKind } from "@qubes-dedup/pipeline";
import { exited, tmpDir, waitGone } from "@qubes-dedup/qubes-sim/testing";
import { CLI, makeStream, scratch, type Scratch } from "./harness.ts";
import type { QubeSpec } from "@qubes-dedup/qubes-sim";
import { listSnapshots, openIndex, reindex, snapshotJson, type Database } from "@qubes-dedup/service";

/** Runs the CLI without blocking the worker's event loop (vitest's RPC must go on). */
async function run(s: Scratch, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return start(s, args).end;
}

const SLOW = process.env.QUBES_DEDUP_SLOW === "1";
const TRIALS = Number(process.env.QUBES_DEDUP_TRIALS ?? 20);
/** SIGTERM trials per engine (the stream fully written, the signal at a random moment after). */
const TERM_TRIALS = Number(process.env.QUBES_DEDUP_TERM_TRIALS ?? 5);
/** Seed of the kill moments (another seed, other moments). */
const SEED = process.env.QUBES_DEDUP_TRIAL_SEED ?? "";

/** Seeded moments (ms), so a failing trial can be replayed. */
function moment(seed: string, maxMs: number): number {
  return crypto.createHash("sha256").update(seed).digest().readUInt32BE(0) % maxMs;
}

/**
 * What is left in a local repository's lock directory: `locks`, the names
 * the engine counts as locks (restic: finished lock files, named by their
 * 64-hex id; borg: each holder of lock.exclusive), and `partial`, the files a
 * restic killed while writing a lock left (`<id>-tmp-…`), which restic's
 * listing skips and so never blocks a run.
 */
function locksLeft(kind: EngineKind, repo: string): { locks: string[]; partial: string[] } {
  const dir = path.join(repo, kind === "restic" ? "locks" : "lock.exclusive");
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  if (kind === "borg") return { locks: names, partial: [] };
  return { locks: names.filter((n) => /^[0-9a-f]{64}$/.test(n)), partial: names.filter((n) => !/^[0-9a-f]{64}$/.test(n)) };
}

/** Starts a CLI command; `input` is piped in full, then stdin is closed. */
function start(s: Scratch, args: string[], input?: string) {
  const child = spawn(process.execPath, [CLI, ...args], { env: s.env, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.on("error", () => {});
  if (!input) child.stdin.end();
  if (input) fs.createReadStream(input).pipe(child.stdin).on("error", () => {});
  const written = new Promise<void>((r) => (child.stdin.once("finish", () => r()), child.once("close", () => r())));
  return { child, end: exited(child), written };
}

/**
 * The figures the issue asks for: faults injected (kills that hit a running
 * process; `missed`: the process had already ended), bad snapshots offered,
 * runs that needed manual repair, stale locks after the next run.
 */
interface Figures { faults: number; missed: number; badOffered: number; manualRepair: number; staleLocksAfterNext: number; partialLockFiles: number; termExit1: number; termExit0: number }
const figures: Record<string, Figures> = {};
const started = performance.now();
afterAll(() => {
  if (SLOW) process.stderr.write(`kill trials: ${JSON.stringify(figures)} in ${Math.round((performance.now() - started) / 1000)} s\n`);
});

const KiB = 1024;
/** Small volumes (1.3 MiB in all, 256 KiB chunks): a trial costs engine starts, not bytes, and files still span several chunks. */
const QUBES: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", rootSize: 512 * KiB, privateSize: 256 * KiB },
  { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 512 * KiB, firewall: true },
];

/** Runs `fn` on the index db at `file`, closed after. */
async function withIndex<T>(file: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openIndex(file);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The ids of the backups the index db at `file` offers (what `qubes-dedup snapshots --json` lists). */
const offeredBy = (file: string) => withIndex(file, async (db) => (await listSnapshots(db, "default")).map((x) => snapshotJson(x).id));

/** Milliseconds since `t0`, rounded. */
const since = (t0: number) => Math.round(performance.now() - t0);

// The two engines' trials run at the same time (each on its own repository): they wait on engines, not on the CPU alone.
describe.concurrent("kill trials", () => {
  it.skipIf(!SLOW).each(["restic", "borg"] as EngineKind[])(`%s survives ${TRIALS} SIGKILLs of ingest and dump and ${TERM_TRIALS} SIGTERMs with nothing to repair`, async (kind) => {
    const f: Figures = (figures[kind] = { faults: 0, missed: 0, badOffered: 0, manualRepair: 0, staleLocksAfterNext: 0, partialLockFiles: 0, termExit1: 0, termExit0: 0 });
    const s = scratch();
    const stream = makeStream(s.dir, `kill-${kind}`, QUBES);
    expect((await run(s, ["repo", "add", "default", "--engine", kind, "--location", s.repo, "--password-file", s.passwordFile])).code).toBe(0);
    const engine: Engine = openEngine({ engine: kind, location: s.repo, passwordFile: s.passwordFile });
    const fresh: Scratch = { ...s, db: path.join(tmpDir("kill-db"), "index.db") };
    fresh.env = { ...s.env, QUBES_DEDUP_DB: fresh.db };
    expect((await run(fresh, ["repo", "add", "default", "--engine", kind, "--location", s.repo, "--password-file", s.passwordFile])).code).toBe(0);
    // How long an ingest and a dump take now (the last ones measured): kill moments fall inside them.
    let t0 = performance.now();
    expect((await start(s, ["ingest"], stream.file).end).code).toBe(0);
    let ingestMs = since(t0);
    t0 = performance.now();
    expect((await start(s, ["dump", "latest"]).end).code).toBe(0);
    let dumpMs = since(t0);

    /** After a fault: what the issue counts, asserted. */
    const afterFault = async (label: string) => {
      const times: Record<string, number> = {};
      let t = performance.now();
      await waitGone(s.repo);
      times.gone = since(t);
      t = performance.now();
      // Read-only, so at the same time: the engine's own listing, what this index offers, and a second
      // backup qube's index rebuilt from the repository alone (in this process, through the same
      // libs/service calls as the CLI's `snapshots` and `reindex`: node starts are what a trial costs).
      const [all, offered, [re, reindexed]] = await Promise.all([
        engine.snapshots(),
        offeredBy(s.db),
        withIndex(fresh.db, (db) => reindex(db, "default")).then(async (r) => [r, await offeredBy(fresh.db)] as const),
      ]);
      times.listings = since(t);
      const complete = dataSnapshotsOf(all).map((x) => x.id);
      const bad = [...offered, ...reindexed].filter((id) => !complete.includes(id));
      f.badOffered += bad.length;
      // the next run: clean, no lock left, the engine's check passes, the latest backup dumps exactly
      t = performance.now();
      const next = await start(s, ["ingest"], stream.file).end;
      times.next = ingestMs = since(t);
      const { locks, partial } = locksLeft(kind, s.repo);
      f.staleLocksAfterNext += locks.length;
      f.partialLockFiles += partial.length;
      t = performance.now();
      // check locks the repository exclusively (both engines): alone
      const checked = await engine.check().then(() => true, () => false);
      times.check = since(t);
      t = performance.now();
      const hash = crypto.createHash("sha256");
      const d = start(s, ["dump", "latest"]);
      d.child.stdout!.on("data", (b: Buffer) => hash.update(b));
      const [, after] = await Promise.all([d.end, engine.snapshots()]);
      times.dump = dumpMs = since(t);
      const dumped = hash.digest("hex");
      if (next.code !== 0 || !checked) f.manualRepair++;
      expect({ label, bad, reindexFailed: re.failed, reindexed: reindexed.sort(), next: next.code, nextErr: next.stderr.slice(0, 300), locks, checked, dumped }).toEqual({
        label, bad: [], reindexFailed: [], reindexed: [...complete].sort(), next: 0, nextErr: next.stderr.slice(0, 300), locks: [], checked: true, dumped: stream.sha256,
      });
      // what a fault left is gone after the next run
      expect(incompleteRunsOf(after).map((x) => x.id), label).toEqual([]);
      process.stderr.write(`${label}: clean (${JSON.stringify(f)}; ms ${JSON.stringify(times)})\n`);
    };

    // TRIALS kills that hit a running process (a kill after the process ended is counted as missed, and one more is tried)
    let kills = 0;
    for (let i = 0; kills < TRIALS && i < 2 * TRIALS; i++) {
      const dumpTrial = i % 3 === 2;
      // inside the run as long as the last one took: a kill lands while the process still works
      const ms = moment(`${SEED}${kind}-${i}`, Math.round((dumpTrial ? dumpMs : ingestMs) * 0.8));
      const victim = dumpTrial ? start(s, ["dump", "latest"]) : start(s, ["ingest"], stream.file);
      victim.child.stdout!.resume();
      await new Promise((r) => setTimeout(r, ms));
      victim.child.kill("SIGKILL");
      const end = await victim.end;
      if (end.signal === "SIGKILL") (kills++, f.faults++);
      else f.missed++;
      await afterFault(`${kind} trial ${i}: SIGKILL of ${dumpTrial ? "dump" : "ingest"} after ${ms} ms${end.signal === "SIGKILL" ? "" : ` (it had ended, exit ${end.code})`}`);
    }
    expect(kills, `${kind}: SIGKILLs that hit a running process`).toBe(TRIALS);
    for (let i = 0; i < TERM_TRIALS; i++) {
      const before = dataSnapshotsOf(await engine.snapshots()).length;
      const term = start(s, ["ingest"], stream.file);
      // the whole stream is in the pipe: the signal comes while ingest stores it
      await term.written;
      const ms = moment(`${SEED}${kind}-term-${i}`, Math.round(ingestMs / 3));
      await new Promise((r) => setTimeout(r, ms));
      term.child.kill("SIGTERM");
      const end = await term.end;
      f.faults++;
      const after = dataSnapshotsOf(await engine.snapshots()).length;
      if (end.code === 1) f.termExit1++;
      else f.termExit0++;
      // exit 1: nothing stored; exit 0: the backup is complete and indexed (the signal came after the index row)
      expect({ code: end.code, added: after - before }, `${kind} SIGTERM after ${ms} ms: ${end.stderr.trim()}`).toEqual(end.code === 0 ? { code: 0, added: 1 } : { code: 1, added: 0 });
      await afterFault(`${kind} SIGTERM trial ${i} after ${ms} ms`);
    }
  }, 3_600_000);
});
