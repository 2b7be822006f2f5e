import fs from "node:fs";
import path from "node:path";
import { sha256File, volumeHashes } from "@qubes-dedup/qubes-sim/testing";

/** One restored volume compared with its source. */
export interface VolumeVerdict {
  qube: string;
  volume: string;
  bytes: number;
  identical: boolean;
  why?: string;
}

/**
 * Compares every `volumes/<qube>/<volume>.img` of the source system with the
 * restored one: same size and same SHA-256. A volume missing from the restore
 * counts as different.
 */
export async function compareVolumes(sourceRoot: string, restoredRoot: string): Promise<VolumeVerdict[]> {
  const out: VolumeVerdict[] = [];
  const volumes = path.join(sourceRoot, "volumes");
  for (const qube of fs.readdirSync(volumes).sort()) {
    for (const img of fs.readdirSync(path.join(volumes, qube)).sort()) {
      const src = path.join(volumes, qube, img);
      const dst = path.join(restoredRoot, "volumes", qube, img);
      const bytes = fs.statSync(src).size;
      const volume = img.replace(/\.img$/, "");
      if (!fs.existsSync(dst)) {
        out.push({ qube, volume, bytes, identical: false, why: "not restored" });
        continue;
      }
      const [a, b] = [sha256File(src), sha256File(dst)];
      const sizeOk = fs.statSync(dst).size === bytes;
      out.push({ qube, volume, bytes, identical: sizeOk && a === b, ...(sizeOk && a === b ? {} : { why: sizeOk ? "content differs" : "size differs" }) });
    }
  }
  return out;
}

/** SHA-256 of every `volumes/<qube>/<volume>.img` under `root`, keyed "<qube>/<volume>.img". */
export async function hashVolumes(root: string): Promise<Map<string, string>> {
  return new Map(Object.entries(volumeHashes(root)));
}

/**
 * Compares the volumes of a restored system with hashes taken earlier (by
 * {@link hashVolumes}) of the source, for a snapshot whose source has
 * changed since. `bytes` is 0: the earlier sizes were not kept.
 */
export function compareWithHashes(before: Map<string, string>, restored: Map<string, string>): VolumeVerdict[] {
  return [...before].map(([k, sha]) => {
    const [qube = "", img = ""] = k.split("/");
    const identical = restored.get(k) === sha;
    return { qube, volume: img.replace(/\.img$/, ""), bytes: 0, identical, ...(identical ? {} : { why: restored.has(k) ? "content differs" : "not restored" }) };
  });
}
