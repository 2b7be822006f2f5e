// Test and benchmark support (not shipped): drives the dom0 simulator in a
// process of its own, so that each backup run gets a fresh PID exactly like
// qubesd's worker (the PID is part of Qubes' inner tar names and the backup-id).
// usage:
//   node --import tsx sim-tool.ts stream --dir D --seed S [--root R] [--qubes JSON] [--chunk-size N]
//   node --import tsx sim-tool.ts mutate --root R --fraction F --extent N --seed S
//   node --import tsx sim-tool.ts floor --root R --out FILE
// Each prints one JSON line on stdout.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mutateVolume, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile } from "@qubes-dedup/qubes-sim/testing";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Directory of the built shim, put first on scrypt's PATH. */
export const SHIM_DIR = path.resolve(HERE, "../../shim/dist");
/** A project passphrase (marker + 64 hex), so the shim passes chunks through with MAC trailers. */
export const PASSPHRASE = `qubes-dedup-v1-${"3c".repeat(32)}`;
const USAGE = "usage: sim-tool.ts stream|mutate|floor [--dir D] [--seed S] [--root R] [--qubes JSON] [--chunk-size N] [--fraction F] [--extent N] [--out FILE]";

/** Qubes' volume-config order, which is the order of a qube's volumes in the stream. */
const rank = (v: string) => (v === "root.img" ? 0 : v === "private.img" ? 1 : 2);

/** The volume images of a simulated system, in stream order (qubes by name, then root, private). */
function images(root: string): string[] {
  const base = path.join(root, "volumes");
  const byName = (a: string, b: string) => a.localeCompare(b);
  return fs.readdirSync(base).sort(byName).flatMap((q) =>
    fs.readdirSync(path.join(base, q)).sort((a, b) => rank(a) - rank(b) || byName(a, b)).map((v) => path.join(base, q, v)));
}

/** Union length of [offset, offset+len) ranges (bytes). */
function unionBytes(ranges: [number, number][]): number {
  let total = 0;
  let end = -1;
  for (const [a, b] of ranges.sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Rewrites `fraction` of every volume in `extent`-byte pieces; returns the bytes actually changed. */
function mutate(root: string, fraction: number, extent: number, seed: string): { changedBytes: number; extents: number } {
  let changedBytes = 0;
  let extents = 0;
  for (const img of images(root)) {
    const size = fs.statSync(img).size;
    const r = mutateVolume(img, { fraction, extent, seed });
    extents += r.extents;
    changedBytes += unionBytes(r.offsets.map((o) => [o, Math.min(o + extent, size)]));
  }
  return { changedBytes, extents };
}

/**
 * The "floor" stream: every volume's allocated data (its non-zero 512-byte
 * blocks, the unit of Qubes' sparse map) back to back, with no framing.
 */
function floor(root: string, out: string): { bytes: number } {
  const fd = fs.openSync(out, "w");
  const buf = Buffer.alloc(4 << 20);
  const zero = Buffer.alloc(512);
  let bytes = 0;
  try {
    for (const img of images(root)) {
      const inFd = fs.openSync(img, "r");
      try {
        for (let n; (n = fs.readSync(inFd, buf, 0, buf.length, null)) > 0; ) {
          let w = 0;
          for (let off = 0; off < n; off += 512) {
            const end = Math.min(off + 512, n);
            if (end - off === 512 && buf.compare(zero, 0, 512, off, end) === 0) continue;
            buf.copy(buf, w, off, end);
            w += end - off;
          }
          fs.writeSync(fd, buf, 0, w);
          bytes += w;
        }
      } finally {
        fs.closeSync(inFd);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes };
}

async function main(): Promise<void> {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: "string" }, seed: { type: "string", default: "bench" }, root: { type: "string" }, qubes: { type: "string" },
      "chunk-size": { type: "string" }, fraction: { type: "string", default: "0.01" }, extent: { type: "string", default: String(4 << 20) }, out: { type: "string" },
    },
  });
  const cmd = positionals[0];
  let result: unknown;
  if (cmd === "stream" && v.dir) {
    const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH ?? ""}` };
    const qubes = v.qubes ? (JSON.parse(v.qubes) as QubeSpec[]) : undefined;
    const chunkSize = v["chunk-size"] ? Number(v["chunk-size"]) : undefined;
    result = await makeBackupStreamFile(v.dir, { seed: v.seed!, passphrase: PASSPHRASE, env, ...(qubes ? { qubes } : {}), ...(chunkSize ? { chunkSize } : {}), ...(v.root ? { root: v.root } : {}) });
  } else if (cmd === "mutate" && v.root) result = mutate(v.root, Number(v.fraction), Number(v.extent), v.seed!);
  else if (cmd === "floor" && v.root && v.out) result = floor(v.root, v.out);
  else {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    process.stderr.write(`sim-tool: ${e.message}\n`);
    process.exit(1);
  });
}
