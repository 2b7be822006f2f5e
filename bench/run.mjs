#!/usr/bin/env node
// Runs every benchmark in bench/ (each `<name>.mjs` but this file), one after
// the other, passing on --json and --quick. With --json the last line is one
// JSON object keyed by bench name (each bench's own last JSON line), and the
// benches' tables go to stderr. A bench that fails is reported as
// {"error": "..."} and makes the exit status 1.
// usage: node bench/run.mjs [--json] [--quick] [--only name,name]
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const DIR = path.dirname(fileURLToPath(import.meta.url));
const USAGE = "usage: node bench/run.mjs [--json] [--quick] [--only name,name]\n";
/** How each bench spells "quick" (benches without an entry get --quick). */
const QUICK_ARGS = { shim: ["--size-mib", "128", "--calls", "5"] };

let opts;
try {
  opts = parseArgs({ strict: true, options: { json: { type: "boolean", default: false }, quick: { type: "boolean", default: false }, only: { type: "string" } } }).values;
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}`);
  process.exit(2);
}

const all = fs.readdirSync(DIR).filter((f) => f.endsWith(".mjs") && f !== "run.mjs").map((f) => f.slice(0, -4)).sort();
const only = opts.only?.split(",");
const unknown = only?.filter((n) => !all.includes(n)) ?? [];
if (unknown.length) {
  process.stderr.write(`bench: no bench named ${unknown.join(", ")}; there are ${all.join(", ")}.\n${USAGE}`);
  process.exit(2);
}
const names = only ?? all;

/** Runs one bench; resolves to its exit code and (with --json) its last stdout line. */
function runBench(name) {
  const args = [path.join(DIR, `${name}.mjs`)];
  if (opts.quick) args.push(...(QUICK_ARGS[name] ?? ["--quick"]));
  if (opts.json) args.push("--json");
  const child = spawn(process.execPath, args, { stdio: ["ignore", opts.json ? "pipe" : "inherit", "inherit"] });
  // tables and notes stay visible on stderr; the latest complete line is held
  // back, so that at the end it is the bench's JSON
  let partial = "";
  let held;
  child.stdout?.on("data", (d) => {
    const lines = (partial + d).split("\n");
    partial = lines.pop();
    for (const l of lines.filter((x) => x.trim())) {
      if (held !== undefined) process.stderr.write(`${held}\n`);
      held = l;
    }
  });
  return new Promise((resolve) => {
    child.on("error", (e) => resolve({ code: 1, last: "", error: e.message }));
    child.on("close", (code) => resolve({ code: code ?? 1, last: partial.trim() || held || "" }));
  });
}

const results = {};
let failed = false;
for (const name of names) {
  process.stderr.write(`== bench ${name}${opts.quick ? " (quick)" : ""}\n`);
  const t0 = Date.now();
  const r = await runBench(name);
  process.stderr.write(`== bench ${name}: exit ${r.code} after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  if (r.code !== 0) {
    failed = true;
    results[name] = { error: r.error ?? `exited with ${r.code}` };
    continue;
  }
  if (!opts.json) continue;
  try {
    results[name] = JSON.parse(r.last);
  } catch {
    failed = true;
    results[name] = { error: "its last line is not JSON" };
    process.stderr.write(`${r.last}\n`);
  }
}
if (opts.json) process.stdout.write(`${JSON.stringify(results)}\n`);
process.exitCode = failed ? 1 : 0;
