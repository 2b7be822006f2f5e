import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const READ_BYTES = 1 << 20;

/**
 * Test support: SHA-256 (hex) of a file, read 1 MiB at a time so that
 * volume images of any size fit in memory.
 */
export function sha256File(file: string): string {
  const h = createHash("sha256");
  const buf = Buffer.alloc(READ_BYTES);
  const fd = fs.openSync(file, "r");
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, READ_BYTES, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

/** SHA-256 of every file of one qube's `volumes/<qube>/` under a simulated root, by file name ("private.img"). */
export function qubeVolumeHashes(root: string, qube: string): Record<string, string> {
  const dir = path.join(root, "volumes", qube);
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = sha256File(path.join(dir, name));
  return out;
}

/**
 * SHA-256 of the committed volume images of one qube (`volumes/<qube>/<volume>.img`),
 * by file name: what qvm-backup exports, without a running qube's
 * `-snap`/`-dirty` copy or the revisions (`-<time>-back.img`, `.img@<time>`).
 */
export function committedVolumeHashes(root: string, qube: string): Record<string, string> {
  return Object.fromEntries(Object.entries(qubeVolumeHashes(root, qube)).filter(([name]) => /^[a-z]+\.img$/.test(name)));
}

/**
 * SHA-256 of every volume image under a simulated root (`volumes/<qube>/<file>`),
 * by "qube/file" in sorted order; `{}` when the root has no volumes directory.
 */
export function volumeHashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const dir = path.join(root, "volumes");
  if (!fs.existsSync(dir)) return out;
  for (const q of fs.readdirSync(dir).sort()) {
    for (const [v, sha] of Object.entries(qubeVolumeHashes(root, q))) out[`${q}/${v}`] = sha;
  }
  return out;
}
