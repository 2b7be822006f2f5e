// The pipeline bench's cpuPerGiB figures (issue 15): CPU seconds (user +
// system) per GiB of stream of our own processes — ingest, dump, the shim's
// enc and dec — each beside its floor measured in the same run on the same
// bytes: `openssl dgst -sha256` (ingest and dump: every byte hashed once)
// and `openssl dgst -sha256 -hmac` (the shim). Every process reads and
// writes as it does on Qubes: ingest and the floors from a pipe, dump into a
// pipe, the shim's enc from a pipe into a file and dec file to file, through
// the pty helper that plays qubesd. The CPU of our process is its own
// (cpu-split.py); what it waited for (the engine and its small helpers) is
// reported apart.
import fs from "node:fs";
import path from "node:path";
import { execCpu, spread } from "./exec.mjs";

const GiB = 1 << 30;
/** A qvm-backup chunk's passphrase line with a project passphrase (the shim then takes the authenticated pass-through). */
const LINE = `20250102T030405-1!vm3/private.img.000!qubes-dedup-v1-${"5a".repeat(32)}`;
/** The floor's HMAC key: as long as the shim's derived key (32 bytes, here as 64 hex characters). */
const HMAC_KEY = "7b".repeat(32);

const perGiB = (cpu, bytes) => (cpu * GiB) / bytes;
const vs = (a, b) => Math.round((a / b) * 1000) / 1000;

/** Median/min/max of `reps` runs of `once()`, each giving CPU seconds, as seconds per GiB of `bytes`. */
async function repeat(reps, bytes, once) {
  const own = [];
  const children = [];
  for (let i = 0; i < reps; i++) {
    const r = await once(i);
    own.push(perGiB(r.self, bytes));
    children.push(perGiB(r.children, bytes));
  }
  return { own: spread(own), children: spread(children) };
}

/**
 * The floor of ingest and dump: `cat stream | openssl dgst -sha256`, the
 * CPU of openssl alone, per GiB; `reps` runs. Resolves to { median, min, max, runs }.
 */
export async function hashFloor({ file, bytes, reps, tmp }) {
  return (await repeat(reps, bytes, () => execCpu(["openssl", "dgst", "-sha256"], { pipe: "in", stdin: file, stdout: "/dev/null", tmp }))).own;
}

/**
 * cpuPerGiB of ingest and dump for one engine, beside `floor` (from {@link hashFloor}).
 * @param ingestArgv (repo) => argv of our ingest into `repo` (stream on stdin)
 * @param dumpArgv argv of our dump of the stream's snapshot (stream on stdout)
 * @param init (repo) => Promise: makes an empty repository
 * @returns { ingest, dump, ingestVsFloor, dumpVsFloor, engine: { ingest, dump }, spread: {…} }
 */
export async function pipelineCpu({ file, bytes, reps, tmp, env, init, ingestArgv, dumpArgv, floor }) {
  const ingest = await repeat(reps, bytes, async (i) => {
    const repo = path.join(tmp, `cpu-repo-${i}`);
    await init(repo);
    try {
      return await execCpu(ingestArgv(repo), { pipe: "in", stdin: file, env, tmp });
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
  const dump = await repeat(reps, bytes, () => execCpu(dumpArgv, { pipe: "out", stdout: "/dev/null", env, tmp }));
  return {
    ingest: ingest.own.median,
    dump: dump.own.median,
    ingestFloor: floor.median,
    dumpFloor: floor.median,
    ingestVsFloor: vs(ingest.own.median, floor.median),
    dumpVsFloor: vs(dump.own.median, floor.median),
    engine: { ingest: ingest.children.median, dump: dump.children.median },
    spread: { ingest: ingest.own, dump: dump.own, hashFloor: floor, engineIngest: ingest.children, engineDump: dump.children },
  };
}

/**
 * cpuPerGiB of the shim on `file` (one chunk): `enc -` from a pipe into a
 * file, `dec -f` file to file, both through the pty helper `withTty`; the
 * floor `cat file | openssl dgst -sha256 -hmac KEY`. `reps` runs each.
 * @returns { shimEnc, shimDec, shimEncFloor, shimEncVsFloor, shimDecVsFloor, spread: {…} }
 */
export async function shimCpu({ shim, withTty, file, bytes, reps, tmp }) {
  const enc = path.join(tmp, "shim-cpu.enc");
  const tty = (prompts) => ["python3", withTty, String(prompts), "--"];
  const e = await repeat(reps, bytes, () => execCpu([shim, "enc", "-", enc], { pipe: "in", stdin: file, stdout: "/dev/null", prefix: tty(2), fd3: `${LINE}\n`, tmp }));
  const d = await repeat(reps, bytes, async () => {
    const out = path.join(tmp, "shim-cpu.dec");
    try {
      return await execCpu([shim, "dec", "-f", enc, out], { stdout: "/dev/null", prefix: tty(1), fd3: `${LINE}\n`, tmp });
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
  fs.rmSync(enc, { force: true });
  const f = await repeat(reps, bytes, () => execCpu(["openssl", "dgst", "-sha256", "-hmac", HMAC_KEY], { pipe: "in", stdin: file, stdout: "/dev/null", tmp }));
  return {
    shimEnc: e.own.median,
    shimDec: d.own.median,
    shimEncFloor: f.own.median,
    shimEncVsFloor: vs(e.own.median, f.own.median),
    shimDecVsFloor: vs(d.own.median, f.own.median),
    spread: { shimEnc: e.own, shimDec: d.own, hmacFloor: f.own },
  };
}
