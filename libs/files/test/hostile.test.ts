import fs from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeExt4Image } from "@qubes-dedup/qubes-sim";
import { processesMentioning, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { BwrapTransport, MAX_ENTRIES, VolumeBrowser } from "../src/index.ts";

// Hostile images: each must end in one FilesError sentence, with every
// sandboxed read killed after the browser's time limit at the latest.
const MiB = 1 << 20;
let dir: string;
let good: string;
const browse = (image: string, timeoutSeconds = 20) => new VolumeBrowser(new BwrapTransport(), image, 0, { timeoutSeconds, maxDownloadBytes: 64 * MiB });
const sink = () => new PassThrough().resume();

beforeAll(() => {
  dir = tmpDir("hostile");
  const t = path.join(dir, "tree");
  fs.mkdirSync(path.join(t, "big"), { recursive: true });
  fs.writeFileSync(path.join(t, "data.bin"), Buffer.alloc(3 * MiB, 7));
  for (let i = 0; i < MAX_ENTRIES + 500; i++) fs.writeFileSync(path.join(t, "big", `f${i}`), "");
  good = path.join(dir, "good.img");
  writeExt4Image(good, 32 * MiB, t);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function copyWith(name: string, change: (b: Buffer) => Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, change(fs.readFileSync(good)));
  return p;
}

describe("hostile images", () => {
  it("a huge directory is listed up to MAX_ENTRIES, with its total", async () => {
    const l = await browse(good).list("/big");
    expect(l.entries).toHaveLength(MAX_ENTRIES);
    expect(l.total).toBe(MAX_ENTRIES + 500);
  }, 120_000);

  it("a truncated image: reading past its end is a corrupt filesystem", async () => {
    const img = copyWith("truncated.img", (b) => b.subarray(0, 2 * MiB));
    await expect(browse(img).download("/data.bin", sink())).rejects.toThrow(/^(reading \/data\.bin failed because the filesystem is corrupt|only \d+ of the 3145728 bytes of \/data\.bin could be read|the volume's ext4 filesystem cannot be opened)/);
  }, 60_000);

  it("a bit-flipped superblock", async () => {
    // byte 1024+0x38 is s_magic (0xEF53): flip one bit
    const img = copyWith("flipped.img", (b) => ((b[1024 + 0x38]! ^= 0x01), b));
    await expect(browse(img).list("/")).rejects.toThrow(/^the volume holds no ext4 filesystem \(debugfs: Bad magic number in super-block/);
    // a flipped block count: the superblock checksum no longer matches (debugfs would fall back to a backup superblock)
    const img2 = copyWith("flipped2.img", (b) => ((b[1024 + 0x04]! ^= 0x10), b));
    const msg = "the volume's ext4 superblock fails its checksum, so the filesystem is corrupt or was altered; try the same volume in another snapshot.";
    await expect(browse(img2).list("/")).rejects.toThrow(msg);
    await expect(browse(img2).download("/data.bin", sink())).rejects.toThrow(msg);
  }, 60_000);

  it("random bytes are no ext4", async () => {
    const img = path.join(dir, "random.img");
    fs.writeFileSync(img, Buffer.alloc(MiB, 0x5a));
    await expect(browse(img).list("/")).rejects.toThrow(/^the volume holds no ext4 filesystem/);
  }, 60_000);

  it("a reader that stalls is killed at the time limit, with one sentence", async () => {
    await expect(browse(good, 0.001).list("/big")).rejects.toThrow("reading the filesystem took more than 0.001 s, so the sandbox was killed; the image may be crafted to stall the reader, try the same volume in another snapshot.");
  }, 60_000);

  it("a sandbox killed at any moment of its start leaves no process behind and never hangs the call", async () => {
    // killed 1 to 20 ms in: while bwrap sets the sandbox up, before its parent-death signal is armed, and after
    for (let ms = 1; ms <= 20; ms++) await expect(browse(good, ms / 1000).list("/big"), `${ms} ms`).rejects.toThrow(/^reading the filesystem took more than/);
    await new Promise((r) => setTimeout(r, 500));
    expect(processesMentioning(good)).toEqual([]);
  }, 120_000);

  it("no bubblewrap: the sandbox does not start, and nothing is parsed outside it", async () => {
    const b = new VolumeBrowser(new BwrapTransport({ bwrap: path.join(dir, "no-bwrap"), debugfs: "/usr/sbin/debugfs", sh: "/bin/sh", tar: "/usr/bin/tar" }), good, 0);
    await expect(b.list("/")).rejects.toThrow(`the sandbox cannot start: ${path.join(dir, "no-bwrap")} is missing; install the "bubblewrap" package.`);
  });

  it("a sandbox that bwrap refuses names bwrap's reason", async () => {
    const fake = path.join(dir, "bwrap-refuses");
    fs.writeFileSync(fake, "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n", { mode: 0o755 });
    const b = new VolumeBrowser(new BwrapTransport({ bwrap: fake, debugfs: "/usr/sbin/debugfs", sh: "/bin/sh", tar: "/usr/bin/tar" }), good, 0);
    await expect(b.list("/")).rejects.toThrow(
      "the sandbox cannot start (bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.); bubblewrap needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or root.",
    );
  });

  it("a directory over the download limit is refused by the tmpfs it is copied into", async () => {
    const b = new VolumeBrowser(new BwrapTransport(), good, 0, { maxDownloadBytes: MiB });
    await expect(b.download("/", sink())).rejects.toThrow("/ holds more than the download limit of 1048576 bytes; download a smaller part or raise the limit (--max-bytes).");
  }, 60_000);
});
