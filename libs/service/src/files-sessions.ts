/**
 * The dashboard browses a volume over many requests; rebuilding the image
 * for each would re-read the snapshot each time. Opened volumes are kept,
 * one per (snapshot, qube, volume), and removed after {@link IDLE_SECONDS}
 * without use, or when the process exits.
 */
import type { Database } from "@qubes-dedup/db";
import { ServiceError } from "./errors.ts";
import { openVolume, type FilesOptions, type OpenVolume } from "./files.ts";

/** Seconds an unused rebuilt image is kept. */
export const IDLE_SECONDS = 600;
/** Most images kept at once; the least recently used goes first. */
const MAX_OPEN = 4;

interface Kept {
  volume: Promise<OpenVolume>;
  timer: NodeJS.Timeout;
  used: number;
}
const kept = new Map<string, Kept>();
let hooked = false;

function closeKept(key: string): void {
  const k = kept.get(key);
  if (!k) return;
  kept.delete(key);
  clearTimeout(k.timer);
  void k.volume.then((v) => v.close(), () => {});
}

/**
 * An opened volume of the snapshot with db id `snapshotId`, from the cache
 * or rebuilt.
 * @throws ServiceError when there is no such snapshot; as openVolume
 */
export async function browseVolume(db: Database, snapshotId: number, qube: string, volume: string, opts: FilesOptions = {}): Promise<OpenVolume> {
  const snap = await db.prisma.snapshot.findUnique({ where: { id: snapshotId }, include: { repository: true } });
  if (!snap) throw new ServiceError(`there is no snapshot ${snapshotId}; pick one from the snapshot list.`);
  const key = `${snap.repository.name}\0${snap.engineSnapshotId}\0${qube}\0${volume}`;
  if (!hooked) {
    hooked = true;
    process.once("exit", () => [...kept.keys()].forEach(closeKept));
  }
  let k = kept.get(key);
  if (!k) {
    if (kept.size >= MAX_OPEN) closeKept([...kept.entries()].sort((a, b) => a[1].used - b[1].used)[0]![0]);
    const v = openVolume(db, { repository: snap.repository.name, snapshot: snap.engineSnapshotId, qube, volume }, opts);
    k = { volume: v, timer: setTimeout(() => closeKept(key), IDLE_SECONDS * 1000), used: Date.now() };
    kept.set(key, k);
    v.catch(() => kept.get(key) === k && (kept.delete(key), clearTimeout(k!.timer)));
  }
  k.used = Date.now();
  k.timer.refresh();
  k.timer.unref();
  return k.volume;
}

/** Removes every kept image (tests, shutdown). */
export function closeBrowsedVolumes(): void {
  [...kept.keys()].forEach(closeKept);
}
