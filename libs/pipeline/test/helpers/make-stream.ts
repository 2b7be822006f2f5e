// Builds v4-shaped backup streams with GNU tar, the way qubes-core-admin's
// backup.py does: an inner `tar -Pc --sparse` stream per file cut into
// chunks, each chunk passed through a plain (pass-through) "scrypt" and
// framed by its own `tar -cO --posix` archive.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface SimVolume { name: string; content: Buffer }
export interface SimQube { qid: number; name: string; volumes: SimVolume[]; extraFiles?: SimVolume[] }
export interface StreamOptions {
  qubes: SimQube[];
  chunkSize?: number;
  backupId?: string;
  compressed?: boolean;
  /** bytes appended to each chunk, like the shim's MAC trailer */
  trailer?: (chunkPath: string, chunk: Buffer) => Buffer;
  dom0Home?: { user: string; files: Record<string, Buffer> };
}

/** Deterministic pseudo-random bytes (same seed, same bytes). */
export function prng(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let counter = 0;
  for (let off = 0; off < size; off += 32) {
    crypto.createHash("sha256").update(`${seed}:${counter++}`).digest().copy(out, off);
  }
  return out;
}

function qubesXml(opts: StreamOptions): string {
  const doms = opts.qubes.map((q) => `    <domain id="domain-${q.qid}" class="AppVM">
      <properties>
        <property name="name">${q.name}</property>
        <property name="qid">${q.qid}</property>
      </properties>
      <features>
        <feature name="backup-content">True</feature>
        <feature name="backup-path">vm${q.qid}/</feature>
        <feature name="backup-size">${q.volumes.reduce((a, v) => a + v.content.length, 0)}</feature>
      </features>
      <volume-config>
${q.volumes.map((v) => `        <volume name="${v.name}" pool="default" rw="True" save_on_stop="True" size="${v.content.length}"/>`).join("\n")}
        <volume name="volatile" pool="default" rw="True" size="1073741824"/>
      </volume-config>
    </domain>`);
  const dom0 = opts.dom0Home
    ? `    <domain id="domain-0" class="AdminVM">
      <features>
        <feature name="backup-content">True</feature>
        <feature name="backup-path">dom0-home/${opts.dom0Home.user}</feature>
        <feature name="backup-size">4096</feature>
      </features>
    </domain>\n`
    : "";
  return `<?xml version='1.0' encoding='utf-8'?>\n<qubes>\n  <domains>\n${dom0}${doms.join("\n")}\n  </domains>\n</qubes>\n`;
}

/**
 * Writes a backup stream to a file and returns its path.
 * Files: backup-header, .hmac, qubes.xml, then per qube its volumes (`<name>.img`).
 */
export function makeStream(dir: string, opts: StreamOptions): string {
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const src = path.join(dir, "src");
  const out = path.join(dir, "out");
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(out, { recursive: true });
  const stream = path.join(dir, "stream.bin");
  fs.writeFileSync(stream, "");
  const backupId = opts.backupId ?? `20250101T000000-${process.pid}`;
  const header = `version=4\nhmac-algorithm=scrypt\ncrypto-algorithm=scrypt\nencrypted=True\ncompressed=${opts.compressed ? "True" : "False"}\ncompression-filter=gzip\nbackup-id=${backupId}\n`;
  const frame = (rel: string) => fs.appendFileSync(stream, execFileSync("tar", ["-cO", "--posix", "-C", out, rel], { maxBuffer: 1 << 30 }));
  fs.writeFileSync(path.join(out, "backup-header"), header);
  fs.writeFileSync(path.join(out, "backup-header.hmac"), header);
  frame("backup-header");
  frame("backup-header.hmac");
  const addFile = (srcDir: string, base: string, subdir: string) => {
    const args = ["-Pc", "--sparse", "-f", "-", "-C", srcDir, `--xform=s:^${base}:${subdir}\\0:`, base];
    let inner = execFileSync("tar", args, { maxBuffer: 1 << 30 });
    if (opts.compressed) inner = execFileSync("gzip", ["-c"], { input: inner, maxBuffer: 1 << 30 });
    fs.mkdirSync(path.join(out, subdir), { recursive: true });
    for (let i = 0, off = 0; off < inner.length || i === 0; i++, off += chunkSize) {
      const rel = `${subdir}${base}.${String(i).padStart(3, "0")}.enc`;
      let chunk = inner.subarray(off, off + chunkSize);
      if (opts.trailer) chunk = Buffer.concat([chunk, opts.trailer(rel.slice(0, -4), chunk)]);
      fs.writeFileSync(path.join(out, rel), chunk);
      frame(rel);
    }
  };
  fs.writeFileSync(path.join(src, "qubes.xml"), qubesXml(opts));
  addFile(src, "qubes.xml", "");
  for (const q of opts.qubes) {
    const qdir = path.join(src, `vm${q.qid}`);
    fs.mkdirSync(qdir, { recursive: true });
    for (const v of [...q.volumes.map((x) => ({ ...x, name: `${x.name}.img` })), ...(q.extraFiles ?? [])]) {
      fs.writeFileSync(path.join(qdir, v.name), v.content);
      fs.utimesSync(path.join(qdir, v.name), 1700000000, 1700000000); // unchanged file, unchanged inner tar header
      addFile(qdir, v.name, `vm${q.qid}/`);
    }
  }
  if (opts.dom0Home) {
    const home = path.join(src, "home", opts.dom0Home.user);
    fs.mkdirSync(home, { recursive: true });
    for (const [n, c] of Object.entries(opts.dom0Home.files)) fs.writeFileSync(path.join(home, n), c);
    addFile(path.join(src, "home"), opts.dom0Home.user, "dom0-home/");
  }
  return stream;
}

/**
 * Bytes of distinct random data in {@link smallSystem}(seed, size): what no
 * engine can deduplicate or compress away, so a lower bound of the size of a
 * repository holding it (the zero run and the repeat are left out).
 */
export function smallSystemRandomBytes(size = 192 * 1024): number {
  return size / 2 + (size / 3 - ((size / 3) % 512));
}

/** A small system: two qubes, volumes with random data, zero runs and repeats. */
export function smallSystem(seed = "s", size = 192 * 1024): SimQube[] {
  const mixed = Buffer.concat([prng(`${seed}a`, size / 2), Buffer.alloc(size / 4), prng(`${seed}a`, size / 4)]);
  return [
    { qid: 3, name: "work", volumes: [{ name: "private", content: mixed }] },
    { qid: 5, name: "vault", volumes: [{ name: "private", content: prng(`${seed}b`, size / 3 - ((size / 3) % 512)) }], extraFiles: [{ name: "firewall.xml", content: Buffer.from("<firewall/>\n") }] },
  ];
}
