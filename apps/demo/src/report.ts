/** The demo's result: the summary object (the --json line) and its human-readable lines. */
import { formatBytes } from "@qubes-dedup/service/format";
import type { VolumeVerdict } from "./compare.ts";

/** One entry of `qubes-dedup snapshots --json`, the fields the demo reads (sizes in bytes). */
export interface SnapshotJson {
  id: string;
  /** The id the CLI shows and `dump` takes. */
  shortId: string;
  /** The backup-id of the stream (what dom0's ledger knows the backup by). */
  backupId: string;
  logicalBytes: number;
  addedBytes: number;
  repositoryBytes: number;
  dedupRatio: number;
  qubes: string[];
}

/**
 * The demo's figures from the two snapshots (oldest first) and every volume
 * verdict; `seconds` is the demo's run time. Sizes in bytes; `dedupRatio` is
 * the logical bytes of both snapshots over the repository's size.
 */
export function summarize(snaps: SnapshotJson[], verdicts: VolumeVerdict[], seconds: number) {
  const [, second] = snaps as [SnapshotJson, SnapshotJson];
  const restoredIdentical = verdicts.every((v) => v.identical);
  const logicalBytes = snaps.reduce((a, s) => a + s.logicalBytes, 0);
  const repositoryBytes = second.repositoryBytes;
  return {
    snapshots: snaps.length,
    qubes: second.qubes,
    logicalBytes,
    logicalBytesPerSnapshot: snaps.map((s) => s.logicalBytes),
    addedBytes: snaps.map((s) => s.addedBytes),
    secondAddedPct: Number(((second.addedBytes / second.logicalBytes) * 100).toFixed(3)),
    repositoryBytes,
    dedupRatio: Number((logicalBytes / repositoryBytes).toFixed(3)),
    restoredIdentical,
    volumesChecked: verdicts.length,
    mismatches: verdicts.filter((v) => !v.identical).map((v) => `${v.qube}/${v.volume}: ${v.why}`),
    seconds: Number(seconds.toFixed(1)),
  };
}

/** The summary as text lines, a blank one first. */
export function reportLines(summary: ReturnType<typeof summarize>, snaps: SnapshotJson[]): string[] {
  const lines = [""];
  lines.push(`qubes:            ${summary.qubes.join(", ")}`);
  snaps.forEach((s, i) => lines.push(`snapshot ${i + 1}:       ${s.shortId}  ${formatBytes(s.logicalBytes)} logical, ${formatBytes(s.addedBytes)} added`));
  lines.push(`second backup added ${summary.secondAddedPct}% of its logical size`);
  lines.push(`repository:       ${formatBytes(summary.repositoryBytes)} for ${formatBytes(summary.logicalBytes)} backed up (dedup ratio ${summary.dedupRatio}x)`);
  lines.push(`restore:          ${summary.restoredIdentical ? "IDENTICAL" : "DIFFERENT"} (${summary.volumesChecked} volumes of both snapshots compared byte for byte)`);
  for (const m of summary.mismatches) lines.push(`  mismatch: ${m}`);
  return lines;
}
