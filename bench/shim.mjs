#!/usr/bin/env node
// Benchmark of the scrypt shim (libs/shim/dist/scrypt) in authenticated
// pass-through mode, driven through the same pty helper that simulates
// qubesd: throughput of enc and dec on a 1 GiB input against `cat`, and the
// per-call start-up time. Not a test; goals: >= 0.8x cat, start <= 60 ms and
// <= 1.2 x `node -e 0` measured in the same run (issue 15).
// usage: node bench/shim.mjs [--size-mib N] [--calls N] [--json]
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SHIM = path.join(ROOT, "libs/shim/dist/scrypt");
const WITH_TTY = path.join(ROOT, "libs/qubes-sim/src/tty/with-tty.py");
const LINE = `20250102T030405-1!vm3/private.img.000!qubes-dedup-v1-${"5a".repeat(32)}`;

let opts;
try {
  opts = parseArgs({ options: { "size-mib": { type: "string", default: "1024" }, calls: { type: "string", default: "20" }, json: { type: "boolean", default: false } }, strict: true }).values;
} catch (e) {
  process.stderr.write(`${e.message}\nusage: node bench/shim.mjs [--size-mib N] [--calls N] [--json]\n`);
  process.exit(2);
}
if (!fs.existsSync(SHIM)) {
  process.stderr.write(`bench: the shim is not built at ${SHIM}; run \`npx nx build shim\` first.\n`);
  process.exit(1);
}
const sizeMiB = Number(opts["size-mib"]);
const calls = Number(opts.calls);

/** Runs argv with stdin/stdout from/to files; with `prompts` through the pty helper. Resolves to seconds. */
function timed(argv, { stdin = "/dev/null", stdout = "/dev/null", prompts = null } = {}) {
  const inFd = fs.openSync(stdin, "r");
  const outFd = fs.openSync(stdout, "w");
  const cmd = prompts === null ? argv : ["python3", WITH_TTY, String(prompts), "--", ...argv];
  const t0 = process.hrtime.bigint();
  const stdio = prompts === null ? [inFd, outFd, "inherit"] : [inFd, outFd, "inherit", "pipe"];
  const child = spawn(cmd[0], cmd.slice(1), { stdio });
  child.stdio[3]?.end(`${LINE}\n`);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      fs.closeSync(inFd);
      fs.closeSync(outFd);
      if (code !== 0) reject(new Error(`${argv.join(" ")} exited with ${code}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
}

/**
 * Like `timed`, but stdin is a pipe fed by `cat input` — the shape qubesd uses
 * for chunks (`scrypt enc - <file>` with stdin a pipe). Resolves to seconds.
 */
function timedFromPipe(argv, input, stdout, prompts = null) {
  const producer = spawn("cat", [input], { stdio: ["ignore", "pipe", "inherit"] });
  const outFd = fs.openSync(stdout, "w");
  const cmd = prompts === null ? argv : ["python3", WITH_TTY, String(prompts), "--", ...argv];
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd[0], cmd.slice(1), { stdio: [producer.stdout, outFd, "inherit", ...(prompts === null ? [] : ["pipe"])] });
  child.stdio[3]?.end(`${LINE}\n`);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      fs.closeSync(outFd);
      if (code !== 0) reject(new Error(`${argv.join(" ")} exited with ${code}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qdd-bench-"));
  try {
    const input = path.join(dir, "in");
    const block = Buffer.alloc(1 << 20);
    const fd = fs.openSync(input, "w");
    for (let i = 0; i < sizeMiB; i++) {
      block.fill(i & 0xff);
      block.writeUInt32BE(i);
      fs.writeSync(fd, block);
    }
    fs.closeSync(fd);
    const bytes = sizeMiB * (1 << 20);
    const enc = path.join(dir, "enc");
    await timed(["cat"], { stdin: input, stdout: path.join(dir, "warm") }); // page cache
    fs.rmSync(path.join(dir, "warm"));
    const catS = await timed(["cat"], { stdin: input, stdout: path.join(dir, "cat") });
    fs.rmSync(path.join(dir, "cat"));
    const encS = await timed([SHIM, "enc", "-", enc], { stdin: input, prompts: 2 });
    fs.rmSync(enc);
    const catPipeS = await timedFromPipe(["cat"], input, path.join(dir, "cat"));
    fs.rmSync(path.join(dir, "cat"));
    const encPipeS = await timedFromPipe([SHIM, "enc", "-", enc], input, enc, 2);
    const decS = await timed([SHIM, "dec", "-f", enc, path.join(dir, "dec")], { prompts: 1 });
    fs.rmSync(path.join(dir, "dec"));
    // Start-up: the harness with a trivial prompting shell script as baseline.
    const fake = path.join(dir, "fake-scrypt");
    fs.writeFileSync(fake, "#!/bin/sh\nprintf 'Please enter passphrase: ' >&2\nread -r a < /dev/tty\nprintf 'Please confirm passphrase: ' >&2\nread -r b < /dev/tty\n", { mode: 0o755 });
    const shimCalls = [];
    const baseCalls = [];
    const catCalls = [];
    const nodeCalls = [];
    for (let i = 0; i < calls; i++) {
      shimCalls.push(await timed([SHIM, "enc", "/dev/null", path.join(dir, "e")], { prompts: 2 }));
      baseCalls.push(await timed([fake, "enc"], { prompts: 2 }));
      catCalls.push(await timed(["cat"]));
      nodeCalls.push(await timed([process.execPath, "-e", "0"]));
    }
    const startS = Math.max(0, median(shimCalls) - median(baseCalls));
    const ms = (xs) => ({ median: median(xs) * 1000, min: Math.min(...xs) * 1000, max: Math.max(...xs) * 1000, runs: xs.length });
    const mibps = (s) => sizeMiB / s;
    const result = {
      sizeMiB,
      catMiBps: mibps(catS),
      encMiBps: mibps(encS),
      decMiBps: mibps(decS),
      encVsCat: catS / encS,
      catPipeMiBps: mibps(catPipeS),
      encPipeMiBps: mibps(encPipeS),
      encPipeVsCatPipe: catPipeS / encPipeS,
      decVsCat: catS / decS,
      startupMs: startS * 1000,
      startupVsGoal: (startS * 1000) / 60,
      startupVsCat: startS / median(catCalls),
      startupVsNode: startS / median(nodeCalls),
      startupRunsMs: { shimCall: ms(shimCalls), promptBaseline: ms(baseCalls), node: ms(nodeCalls) },
      calls,
      bytes,
    };
    const f = (x, d = 2) => x.toFixed(d);
    console.log(`input ${sizeMiB} MiB; cat ${f(result.catMiBps, 0)} MiB/s`);
    console.log(`shim enc (stdin -> file): ${f(result.encMiBps, 0)} MiB/s = ${f(result.encVsCat)}x cat (goal >= 0.80x)`);
    console.log(`from a pipe, as qubesd feeds chunks: cat ${f(result.catPipeMiBps, 0)} MiB/s, shim enc ${f(result.encPipeMiBps, 0)} MiB/s = ${f(result.encPipeVsCatPipe)}x cat (goal >= 0.80x)`);
    console.log(`shim dec (file -> file, verify then copy): ${f(result.decMiBps, 0)} MiB/s = ${f(result.decVsCat)}x cat`);
    console.log(`start-up per call: ${f(result.startupMs, 1)} ms = ${f(result.startupVsGoal)}x the 60 ms goal, ${f(result.startupVsCat, 1)}x a cat call, ${f(result.startupVsNode)}x \`node -e 0\` (${f(result.startupRunsMs.node.median, 1)} ms; goal <= 1.20x) (median of ${calls})`);
    if (opts.json) console.log(JSON.stringify(result));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
