// Small process and statistics helpers of the benches (bench/pipeline.mjs
// and its end-to-end and CPU measurements, bench/incremental.mjs).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** bench/pipeline/cpu-split.py: a command's own CPU seconds apart from its children's. */
export const CPU_SPLIT = path.join(path.dirname(fileURLToPath(import.meta.url)), "cpu-split.py");

/**
 * Runs argv with stdin from a file (default /dev/null) and stdout to a file,
 * /dev/null or captured ("pipe"); stderr is captured (last 64 KiB); in `cwd`
 * (default ours); `fd3`, when given, is written to a pipe on fd 3 (the pty
 * helper's passphrase line); `watch(child)`, when given, is called once the
 * child is spawned and may return a function called when it has exited (the
 * pipeline bench samples peak RSS with it).
 * Resolves to { seconds (wall), stdout, stderr }.
 * @throws Error with the stderr tail on a non-zero exit.
 */
export function exec(argv, { stdin = "/dev/null", stdout = "pipe", env = process.env, cwd, fd3, watch } = {}) {
  const inFd = fs.openSync(stdin, "r");
  const outFd = stdout === "pipe" ? "pipe" : fs.openSync(stdout, "w");
  const t0 = process.hrtime.bigint();
  const child = spawn(argv[0], argv.slice(1), { stdio: [inFd, outFd, "pipe", ...(fd3 === undefined ? [] : ["pipe"])], env, cwd });
  child.stdio[3]?.end(fd3);
  const unwatch = watch?.(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err = (err + d).slice(-65536)));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      unwatch?.();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      fs.closeSync(inFd);
      if (typeof outFd === "number") fs.closeSync(outFd);
      if (code !== 0) return reject(new Error(`${argv.slice(0, 4).map((a) => path.basename(a)).join(" ")} … exited with ${code}: ${err.replace(/\r/g, "\n").trim().split("\n").slice(-3).join(" / ")}`));
      resolve({ seconds, stdout: out, stderr: err });
    });
  });
}

/**
 * Runs argv under cpu-split.py; resolves to { seconds, self, children }: the
 * wall time, the CPU seconds (user + system) of argv[0]'s process itself and
 * of the children it waited for. `pipe` "in" puts `cat stdin |` before it,
 * "out" `| cat` after it (cat's CPU is in neither figure); `prefix` runs
 * before the wrapper (e.g. the pty helper, whose CPU is not counted either).
 */
export async function execCpu(argv, { pipe, stdin, stdout, env, tmp, fd3, prefix = [] }) {
  const out = path.join(tmp, `cpu-${process.hrtime.bigint()}`);
  let cmd = [...prefix, "python3", CPU_SPLIT, out, "--", ...argv];
  if (pipe) cmd = ["bash", "-o", "pipefail", "-c", pipe === "in" ? 'cat | "$@"' : '"$@" | cat', "bash", ...cmd];
  const r = await exec(cmd, { stdin, stdout, env, fd3 });
  const [self, children] = fs.readFileSync(out, "utf8").trim().split(" ").map(Number);
  fs.rmSync(out);
  return { seconds: r.seconds, self, children, stdout: r.stdout, stderr: r.stderr };
}

/** { median, min, max } of a list of numbers (the upper median of an even count), rounded to `d` decimals. */
export function spread(xs, d = 3) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10 ** d) / 10 ** d;
  return { median: r(s[Math.floor(s.length / 2)]), min: r(s[0]), max: r(s[s.length - 1]), runs: s.length };
}

/** Sum of the sizes of the regular files under `dir` (bytes): a repository's size on disk, as written. */
export function dirBytes(dir) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return total;
}
