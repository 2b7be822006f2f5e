/**
 * Volumes that hold real filesystems: a private volume is one ext4
 * filesystem with no partition table; a template's root holds a GPT with
 * the root filesystem in its third partition, as Qubes 4.1+ templates do
 * (xvda1 BIOS boot, xvda2 EFI system, xvda3 root). Built without root by
 * e2fsprogs' `mkfs.ext4 -d DIR`, which copies a directory tree in.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { SimError } from "../errors.ts";

const SECTOR = 512;
const MiB = 1 << 20;
/** GPT type GUIDs (UEFI 2.10 and the Discoverable Partitions Specification). */
const BIOS_BOOT = "21686148-6449-6e6f-744e-656564454649";
const EFI_SYSTEM = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
const LINUX_FS = "0fc63daf-8483-4772-8e79-3d69d8477de4";
/** Where the root partition starts in a partitioned volume (bytes). */
export const ROOT_PARTITION_OFFSET = 3 * MiB;

/** How {@link writeExt4Image} lays the volume out. */
export interface Ext4Options {
  /** a template root: GPT, root filesystem in partition 3 at ROOT_PARTITION_OFFSET */
  partitioned?: boolean;
  /** filesystem UUID (mkfs.ext4 -U); default a fixed one, so equal trees give equal images */
  uuid?: string;
}

/**
 * Writes a sparse volume image of `size` bytes at `path` holding an ext4
 * filesystem with the tree at `dir` (files, directories, symlinks, their
 * modes and mtimes).
 * @throws SimError when mkfs.ext4 is missing or fails (too small a size)
 */
export function writeExt4Image(path: string, size: number, dir: string, opts: Ext4Options = {}): void {
  if (size % 4096 !== 0) throw new SimError(`Volume size ${size} is not a multiple of 4096 bytes; round it.`);
  const offset = opts.partitioned ? ROOT_PARTITION_OFFSET : 0;
  if (size - offset < 2 * MiB) throw new SimError(`Volume size ${size} is too small for an ext4 filesystem; give it at least ${offset + 2 * MiB} bytes.`);
  fs.rmSync(path, { force: true });
  const fd = fs.openSync(path, "w");
  try {
    fs.ftruncateSync(fd, size);
    if (opts.partitioned) writeGpt(fd, size);
  } finally {
    fs.closeSync(fd);
  }
  const fsBytes = opts.partitioned ? size - offset - 34 * SECTOR : size;
  const blocks = Math.floor(fsBytes / 4096);
  const args = ["-q", "-F", "-b", "4096", "-d", dir, "-U", opts.uuid ?? "0f5e1c3a-5a1d-4d7b-9a5e-2f4d3c2b1a00", "-E", `hash_seed=7c2d1e0f-3a4b-4c5d-8e6f-0a1b2c3d4e5f${offset ? `,offset=${offset}` : ""}`, path, String(blocks)];
  try {
    execFileSync("mkfs.ext4", args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, E2FSPROGS_FAKE_TIME: "1700000000" } });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message;
    throw new SimError(`mkfs.ext4 could not build the volume (${err}); install e2fsprogs 1.43+ or give the volume more space.`);
  }
}

function guidBytes(g: string): Buffer {
  const h = g.replace(/-/g, "");
  const rev = (s: string) => Buffer.from(s, "hex").reverse();
  return Buffer.concat([rev(h.slice(0, 8)), rev(h.slice(8, 12)), rev(h.slice(12, 16)), Buffer.from(h.slice(16), "hex")]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE 802.3), as GPT uses it. */
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A protective MBR, the primary GPT header and entries, and the backup pair at the end. */
function writeGpt(fd: number, size: number): void {
  const lastLba = size / SECTOR - 1;
  const parts: [string, number, number][] = [
    [BIOS_BOOT, MiB / SECTOR, 2 * MiB / SECTOR - 1],
    [EFI_SYSTEM, 2 * MiB / SECTOR, ROOT_PARTITION_OFFSET / SECTOR - 1],
    [LINUX_FS, ROOT_PARTITION_OFFSET / SECTOR, lastLba - 33],
  ];
  const entries = Buffer.alloc(128 * 128);
  parts.forEach(([type, first, last], i) => {
    const e = entries.subarray(i * 128);
    guidBytes(type).copy(e, 0);
    guidBytes(`00000000-0000-4000-8000-00000000000${i + 1}`).copy(e, 16);
    e.writeBigUInt64LE(BigInt(first), 32);
    e.writeBigUInt64LE(BigInt(last), 40);
  });
  const header = (self: number, other: number, entriesLba: number) => {
    const h = Buffer.alloc(SECTOR);
    h.write("EFI PART", 0, "latin1");
    h.writeUInt32LE(0x00010000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(BigInt(self), 24);
    h.writeBigUInt64LE(BigInt(other), 32);
    h.writeBigUInt64LE(34n, 40);
    h.writeBigUInt64LE(BigInt(lastLba - 33), 48);
    guidBytes("5d3f0a1e-2b4c-4d6e-8f00-112233445566").copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesLba), 72);
    h.writeUInt32LE(128, 80);
    h.writeUInt32LE(128, 84);
    h.writeUInt32LE(crc32(entries), 88);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
    return h;
  };
  const mbr = Buffer.alloc(SECTOR);
  mbr[446 + 4] = 0xee;
  mbr.writeUInt32LE(1, 446 + 8);
  mbr.writeUInt32LE(Math.min(lastLba, 0xffffffff), 446 + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  fs.writeSync(fd, mbr, 0, SECTOR, 0);
  fs.writeSync(fd, header(1, lastLba, 2), 0, SECTOR, SECTOR);
  fs.writeSync(fd, entries, 0, entries.length, 2 * SECTOR);
  fs.writeSync(fd, entries, 0, entries.length, (lastLba - 32) * SECTOR);
  fs.writeSync(fd, header(lastLba, 1, lastLba - 32), 0, SECTOR, lastLba * SECTOR);
}
