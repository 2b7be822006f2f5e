import { describe, expect, it } from "vitest";
import { bwrapArgs, debugfsFailure, parseLsBatch, decodeRequest, encodeRequest, escapeName, filesystemOffset, parseLs, parseStat, parseStats, readPartitionTable } from "../src/index.ts";

describe("debugfs output", () => {
  it("reads ls -p records, a name with a newline included, without . and ..", () => {
    const out = Buffer.from("/2/040755/0/0/.//\n/2/040755/0/0/..//\n/12/100644/1000/1000/bad\nname/17/\n/13/040755/0/0/d//\n/15/120777/0/0/l/5/\n\n");
    expect(parseLs(out)).toEqual([
      { inode: 12, name: "bad\nname", kind: "file", perm: 0o644, size: 17 },
      { inode: 13, name: "d", kind: "dir", perm: 0o755, size: undefined },
      { inode: 15, name: "l", kind: "symlink", perm: 0o777, size: 5 },
    ]);
  });

  it("refuses output that is not ls -p records", () => {
    expect(() => parseLs(Buffer.from("garbage\x1b[2J\n"))).toThrow("debugfs printed a directory entry that cannot be read (garbage\\x1b[2J\\n), so the filesystem is corrupt; try the same volume in another snapshot.");
  });

  const stat = (ino: number, extra = "") =>
    `Inode: ${ino}   Type: symlink    Mode:  0777   Flags: 0x0\nGeneration: 0    Version: 0x00000000:00000000\nUser:     0   Group:     0   Project:     0   Size: 5\nFile ACL: 0\nLinks: 1   Blockcount: 0\nFragment:  Address: 0    Number: 0    Size: 0\n ctime: 0x6b0fc83a:00000000 -- Wed Dec  2 07:26:50 2026\n mtime: 0x6b0fc83a:00000001 -- Wed Dec  2 07:26:50 2026\nSize of extra inode fields: 32\n${extra}`;

  it("reads a stat: kind, size, mtime with ext4's epoch bits, a fast link's target", () => {
    expect(parseStat(stat(15, 'Fast link dest: "a\nb"\n'))).toEqual({ inode: 15, kind: "symlink", size: 5, mtime: 0x6b0fc83a + 2 ** 32, fastLink: "a\nb" });
  });

  it("splits a batch of stats by their echo lines", () => {
    const m = parseStats(`debugfs: stat <14>\n${stat(14)}debugfs: stat <16>\nbroken\ndebugfs: stat <15>\n${stat(15)}`);
    expect([...m.keys()]).toEqual([14, 15]);
  });

  it("splits a batch of ls -p by their echo lines, in the order asked", () => {
    const out = Buffer.from("debugfs: ls -p <2>\n/2/040755/0/0/.//\n/12/100644/0/0/a/3/\n\ndebugfs: ls -p <13>\n/14/100644/0/0/b\nc/1/\n\n");
    const m = parseLsBatch(out, [2, 13]);
    expect(m.get(2)?.map((e) => e.name)).toEqual(["a"]);
    expect(m.get(13)?.map((e) => e.name)).toEqual(["b\nc"]);
  });

  it("turns stderr into one sentence; the banner alone is no failure", () => {
    expect(debugfsFailure("debugfs 1.47.0 (5-Feb-2023)\n", "/x")).toBeUndefined();
    expect(debugfsFailure("debugfs 1.47.0 (5-Feb-2023)\ndebugfs: Bad magic number in super-block while trying to open /img\nls: Filesystem not open\n", "/")?.message).toBe(
      "the volume holds no ext4 filesystem (debugfs: Bad magic number in super-block while trying to open /img); a private volume is one ext4 filesystem and a template's root is read from its root partition, so pick another volume.",
    );
    expect(debugfsFailure("debugfs 1.47.0 (5-Feb-2023)\ncat: Attempt to read block from filesystem resulted in short read while reading ext2 file\x1b[2J\n", "/a")?.message).toBe(
      "reading /a failed because the filesystem is corrupt (debugfs: cat: Attempt to read block from filesystem resulted in short read while reading ext2 file\\x1b[2J); try the same volume in another snapshot.",
    );
  });
});

describe("names", () => {
  it("escapes newlines, terminal escapes, C1 controls, backslashes and bidi overrides, and keeps the rest", () => {
    expect(escapeName("a\nb\x1b]0;x\x07\u009b\\ é\u202eZ")).toBe("a\\nb\\x1b]0;x\\x07\\x9b\\\\ é\\u{202e}Z");
  });
});

describe("requests", () => {
  it("round-trip through their wire line and carry only inode numbers", () => {
    const line = encodeRequest({ op: "stat", inodes: [2, 12], offset: 3145728 });
    expect(line).toBe("qubes-dedup-files/1 stat 3145728 2 12\n");
    expect(decodeRequest(line.trimEnd())).toEqual({ op: "stat", inodes: [2, 12], offset: 3145728 });
    expect(() => decodeRequest("qubes-dedup-files/1 cat 0 12; rm -rf /")).toThrow("not a qubes-dedup-files/1 request line");
    expect(() => decodeRequest("qubes-dedup-files/1 cat 0 12 13")).toThrow("cat takes one inode, not 2");
    expect(() => decodeRequest("qubes-dedup-files/1 ls 100 2")).toThrow("offset 100 is not a multiple of 512 bytes");
  });

  it("run in a sandbox with nothing shared, read-only binds, a sized tmpfs and the image read-only", () => {
    const a = bwrapArgs("/scratch/v/volume.img", { op: "ls", inodes: [2], offset: 0 }, { bwrap: "/usr/bin/bwrap", debugfs: "/usr/sbin/debugfs", sh: "/bin/sh", tar: "/usr/bin/tar" }, 1 << 20, ["/usr/lib"]);
    expect(a.slice(0, 5)).toEqual(["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]);
    expect(a.join(" ")).toContain("--ro-bind /usr/lib /usr/lib --ro-bind /usr/sbin/debugfs /usr/sbin/debugfs --dev /dev --size 1048576 --tmpfs /tmp --ro-bind /scratch/v/volume.img /img");
    expect(a.slice(-5)).toEqual(["--", "/usr/sbin/debugfs", "-R", "ls -p <2>", "/img"]);
    expect(a.filter((x) => x === "--bind")).toEqual([]);
  });
});

describe("partition tables", () => {
  const MiB = 1 << 20;
  it("finds the largest Linux partition of an MBR", () => {
    const head = Buffer.alloc(4096);
    const entry = (i: number, type: number, lba: number, sectors: number) => {
      head[446 + 16 * i + 4] = type;
      head.writeUInt32LE(lba, 446 + 16 * i + 8);
      head.writeUInt32LE(sectors, 446 + 16 * i + 12);
    };
    entry(0, 0x82, 2048, 2048);
    entry(1, 0x83, 4096, 8192);
    entry(2, 0x83, 1 << 30, 8); // beyond the image: dropped
    head[510] = 0x55;
    head[511] = 0xaa;
    const t = readPartitionTable(head, 8 * MiB);
    expect(t).toEqual({ scheme: "mbr", partitions: [{ index: 1, start: MiB, size: MiB, type: "0x82" }, { index: 2, start: 2 * MiB, size: 4 * MiB, type: "0x83" }] });
    expect(filesystemOffset(t)).toBe(2 * MiB);
  });

  it("takes a bare filesystem as offset 0 and a table without a Linux partition as none", () => {
    expect(filesystemOffset(readPartitionTable(Buffer.alloc(4096), MiB))).toBe(0);
    const head = Buffer.alloc(4096);
    head.write("EFI PART", 512, "latin1");
    head.writeBigUInt64LE(2n, 512 + 72);
    head.writeUInt32LE(128, 512 + 80);
    head.writeUInt32LE(128, 512 + 84);
    expect(filesystemOffset(readPartitionTable(head, MiB))).toBeUndefined();
  });
});
