// The inner-stream split of the canonical layout, on real bytes: Qubes' own
// tar writer (through the simulator, byte-identical to qubes/tarwriter.py)
// and GNU `tar -Pc --sparse` (old-GNU sparse headers). Content must be the
// members' data only, so that it is the same whatever the PID or the mtime.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { volumeInnerStream, writeVolumeImage } from "@qubes-dedup/qubes-sim";
import { InnerTarTracker } from "../src/stream/inner.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

interface Split { meta: Buffer; content: Buffer; tracker: InnerTarTracker }

/** Runs bytes through a tracker in `step`-byte writes; collects both sides. */
function split(bytes: Buffer, step = bytes.length): Split {
  const meta: Buffer[] = [];
  const content: Buffer[] = [];
  const order: Buffer[] = [];
  const tracker = new InnerTarTracker({
    sink: {
      meta: (b) => (meta.push(Buffer.from(b)), order.push(Buffer.from(b))),
      content: (b) => (content.push(Buffer.from(b)), order.push(Buffer.from(b))),
    },
  });
  for (let i = 0; i < bytes.length; i += step) tracker.write(bytes.subarray(i, i + step));
  expect(Buffer.concat(order).equals(bytes)).toBe(true);
  return { meta: Buffer.concat(meta), content: Buffer.concat(content), tracker };
}

async function readAll(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

/** The image's allocated data: its non-zero 512-byte blocks, as Qubes' sparse map sees them. */
function allocated(image: Buffer): Buffer {
  const zero = Buffer.alloc(512);
  const out: Buffer[] = [];
  for (let off = 0; off < image.length; off += 512) {
    const b = image.subarray(off, off + 512);
    if (!(b.length === 512 && b.equals(zero))) out.push(b);
  }
  return Buffer.concat(out);
}

describe("Qubes tar writer (PAX, GNU sparse 1.0)", () => {
  const dir = tmpDir("pipeline");
  const img = path.join(dir, "private.img");
  writeVolumeImage(img, 4 << 20, "inner-test");
  const data = allocated(fs.readFileSync(img));

  it("sends only the volume's allocated data to the engine, whatever the writer's PID", async () => {
    const a = await readAll(volumeInnerStream(img, "vm3/private.img", 1234));
    const b = await readAll(volumeInnerStream(img, "vm3/private.img", 987654));
    expect(a.equals(b)).toBe(false);
    const sa = split(a);
    const sb = split(b);
    expect(sa.content.equals(data)).toBe(true);
    expect(sb.content.equals(data)).toBe(true);
    expect(sa.tracker.complete).toBe(true);
    // pax header + records + ustar header + sparse map + end blocks
    expect(sa.meta.length).toBe(a.length - data.length);
    expect(sa.meta.length).toBeLessThan(8192);
    expect(sa.meta.includes(Buffer.from("GNUSparseFile.1234/private.img"))).toBe(true);
  });

  it("splits the same way at every write size", async () => {
    const a = await readAll(volumeInnerStream(img, "vm3/private.img", 42));
    const whole = split(a);
    for (const step of [1, 7, 511, 513, 65536]) {
      const s = split(a.subarray(0, 300_000), step);
      expect(s.content.equals(whole.content.subarray(0, s.content.length))).toBe(true);
    }
  });

  it("treats a malformed sparse map as data, keeping the split byte-exact", async () => {
    const a = await readAll(volumeInnerStream(img, "vm3/private.img", 42));
    const mapAt = a.indexOf(Buffer.from("GNUSparseFile.42/")) - 0;
    const mapStart = Math.ceil((mapAt + 1) / 512) * 512; // the block after the ustar header
    const bad = Buffer.from(a);
    bad[mapStart + 1] = 0x78; // "x" in the count line
    const s = split(bad);
    expect(s.tracker.complete).toBe(true);
    expect(s.content.length).toBeGreaterThan(data.length);
  });

  it("keeps an empty volume's member in meta", async () => {
    const empty = path.join(dir, "empty.img");
    fs.writeFileSync(empty, Buffer.alloc(0));
    const s = split(await readAll(volumeInnerStream(empty, "vm3/empty.img", 1)));
    expect(s.content.length).toBe(0);
    expect(s.tracker.complete).toBe(true);
  });
});

describe("GNU tar -Pc --sparse (old GNU sparse headers)", () => {
  const dir = tmpDir("pipeline");
  const src = path.join(dir, "src");
  fs.mkdirSync(src);
  const tar = (base: string, mtime: number) => {
    fs.utimesSync(path.join(src, base), mtime, mtime);
    return execFileSync("tar", ["-Pc", "--sparse", "-f", "-", "-C", src, `--xform=s:^${base}:vm3/\\0:`, base], { maxBuffer: 1 << 28 });
  };

  it("sends only the stored data of a sparse file with extension headers, whatever its mtime", () => {
    const file = path.join(src, "holes.img");
    const fd = fs.openSync(file, "w");
    for (let i = 0; i < 12; i++) fs.writeSync(fd, crypto.randomBytes(8192), 0, 8192, i * 131072);
    fs.ftruncateSync(fd, 12 * 131072);
    fs.closeSync(fd);
    const a = tar("holes.img", 1_700_000_000);
    const b = tar("holes.img", 1_700_000_999);
    expect(a[156]).toBe("S".charCodeAt(0));
    expect(a[482]).toBe(1); // more than 4 segments: extension blocks follow
    const sa = split(a, 1000);
    const sb = split(b);
    expect(sa.tracker.complete).toBe(true);
    expect(sa.content.equals(sb.content)).toBe(true);
    expect(sa.content.equals(allocated(fs.readFileSync(file)))).toBe(true);
  });

  it("sends a directory's file contents and keeps its headers in meta (dom0 home)", () => {
    const home = path.join(src, "user");
    fs.mkdirSync(path.join(home, "Documents"), { recursive: true });
    const files = { ".bashrc": Buffer.from("export EDITOR=vim\n"), "Documents/w.bin": crypto.randomBytes(70_000) };
    for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(home, n), c);
    const s = split(execFileSync("tar", ["-Pc", "--sparse", "-f", "-", "-C", src, "user"]), 333);
    expect(s.tracker.complete).toBe(true);
    expect(s.content.length).toBe(files[".bashrc"].length + files["Documents/w.bin"].length);
    expect(s.content.includes(files["Documents/w.bin"])).toBe(true);
  });
});

describe("unknown inner formats", () => {
  it("passes a stream that is not tar on as content, unchecked", () => {
    const junk = crypto.randomBytes(5000);
    const s = split(junk, 100);
    expect(s.tracker.raw).toBe(true);
    expect(s.tracker.error).toBeUndefined();
    expect(s.content.length).toBe(junk.length - 512);
  });
  it("still refuses a tar stream that breaks after its first header", () => {
    const dir = tmpDir("pipeline");
    fs.writeFileSync(path.join(dir, "a"), "hello");
    const t = Buffer.concat([execFileSync("tar", ["-c", "-f", "-", "-C", dir, "a"]).subarray(0, 1024), crypto.randomBytes(512)]);
    const s = split(t);
    expect(s.tracker.error).toBe("inner tar: bad tar header checksum");
  });
});
