#!/usr/bin/env node
// Benchmark of single-file restore (issue 14): time to list the root
// directory, and to fetch a 10 MiB file, of a 2 GiB private volume (a real
// ext4 filesystem) in a snapshot, each ÷ a full `dump` of the snapshot in the
// same run. Goal ≤ 0.2 for both. The volume is read from a dump of that qube
// alone (per-qube layout), see bench/README.md.
// usage: node bench/files.mjs [--quick] [--json]
// The work is in files/run.ts (TypeScript sources, run through tsx).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const DIR = path.dirname(fileURLToPath(import.meta.url));
const child = spawn(process.execPath, ["--import", "tsx", path.join(DIR, "files", "run.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
child.on("close", (code) => process.exit(code ?? 1));
