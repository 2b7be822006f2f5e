/**
 * Finds the root filesystem in a volume that holds a partition table (a
 * template's root volume: GPT on Qubes 4.1+ templates, MBR on older ones).
 * Pure and bounded: reads only the first {@link TABLE_BYTES} of the image,
 * checks every field against the image size, follows no pointers beyond the
 * GPT header's entry array. Layouts: UEFI 2.10 §5.3 (GPT header at LBA 1,
 * 128-byte entries), the classic MBR (four 16-byte entries at 446, 0x55AA).
 */

/** Bytes of the image's start the table must fit in (GPT with 128 entries fits in 34 sectors). */
export const TABLE_BYTES = 1 << 20;
const SECTOR = 512;

/** GPT type GUIDs that hold a Linux root filesystem (Discoverable Partitions Specification). */
const LINUX_TYPES = new Set([
  "0fc63daf-8483-4772-8e79-3d69d8477de4", // Linux filesystem data
  "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", // Linux root (x86-64)
  "44479540-f297-41b2-9af7-d131d5f0458a", // Linux root (x86)
]);

export interface Partition {
  /** 1-based, as Linux numbers them (xvda3) */
  index: number;
  /** bytes from the image's start */
  start: number;
  /** bytes */
  size: number;
  /** GPT type GUID (lowercase) or MBR type byte as "0x83" */
  type: string;
}

export type PartitionTable = { scheme: "gpt" | "mbr"; partitions: Partition[] } | { scheme: "none" };

/** A GUID as GPT stores it (mixed-endian) in its text form. */
function guid(b: Buffer): string {
  const h = (x: Buffer) => x.toString("hex");
  const r = (x: Buffer) => h(Buffer.from(x).reverse());
  return `${r(b.subarray(0, 4))}-${r(b.subarray(4, 6))}-${r(b.subarray(6, 8))}-${h(b.subarray(8, 10))}-${h(b.subarray(10, 16))}`;
}

function inImage(start: number, size: number, imageSize: number): boolean {
  return size > 0 && start >= SECTOR && start + size <= imageSize;
}

/**
 * Reads the partition table at the start of an image.
 * @param head the image's first bytes (up to TABLE_BYTES)
 * @param imageSize the image's size in bytes; partitions beyond it are dropped
 */
export function readPartitionTable(head: Buffer, imageSize: number): PartitionTable {
  if (head.length >= 2 * SECTOR && head.toString("latin1", SECTOR, SECTOR + 8) === "EFI PART") return readGpt(head, imageSize);
  if (head.length >= SECTOR && head[510] === 0x55 && head[511] === 0xaa) {
    const partitions: Partition[] = [];
    for (let i = 0; i < 4; i++) {
      const e = head.subarray(446 + 16 * i, 462 + 16 * i);
      const type = e[4]!;
      const start = e.readUInt32LE(8) * SECTOR;
      const size = e.readUInt32LE(12) * SECTOR;
      if (type !== 0 && type !== 0xee && inImage(start, size, imageSize)) partitions.push({ index: i + 1, start, size, type: `0x${type.toString(16).padStart(2, "0")}` });
    }
    // an ext4 superblock's own sector 0 may end in 0x55AA by chance: no valid entry, no table
    if (partitions.length > 0) return { scheme: "mbr", partitions };
  }
  return { scheme: "none" };
}

function readGpt(head: Buffer, imageSize: number): PartitionTable {
  const h = head.subarray(SECTOR, 2 * SECTOR);
  const entriesLba = Number(h.readBigUInt64LE(72));
  const count = h.readUInt32LE(80);
  const entrySize = h.readUInt32LE(84);
  const partitions: Partition[] = [];
  if (entrySize < 128 || entrySize > 1024 || entrySize % 8 !== 0 || count > 1024) return { scheme: "gpt", partitions };
  for (let i = 0; i < count; i++) {
    const off = entriesLba * SECTOR + i * entrySize;
    if (off + entrySize > head.length) break;
    const e = head.subarray(off, off + entrySize);
    const type = guid(e.subarray(0, 16));
    if (type === "00000000-0000-0000-0000-000000000000") continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    const start = first * SECTOR;
    const size = (last - first + 1) * SECTOR;
    if (last >= first && inImage(start, size, imageSize)) partitions.push({ index: i + 1, start, size, type });
  }
  return { scheme: "gpt", partitions };
}

/**
 * Byte offset of the filesystem to browse: 0 with no partition table (a
 * private volume), else the largest Linux partition (Qubes templates: xvda3,
 * after the BIOS boot and EFI partitions).
 * @returns undefined when a table exists but holds no Linux partition
 */
export function filesystemOffset(table: PartitionTable): number | undefined {
  if (table.scheme === "none") return 0;
  const linux = table.partitions.filter((p) => (table.scheme === "gpt" ? LINUX_TYPES.has(p.type) : p.type === "0x83"));
  return linux.sort((a, b) => b.size - a.size)[0]?.start;
}
