/**
 * Progress of an engine's integrity check, read from what the engines print
 * (neither has a JSON form for it in these versions). Pure.
 *
 * - restic 0.14 `check` prints a heading per step ("check snapshots, trees
 *   and blobs", "read 5.0% of data packs") and, on a non-terminal, a status
 *   line `[m:ss] 90.00%  9 / 10 packs` every 1/RESTIC_PROGRESS_FPS seconds
 *   (only the last one per step without that variable).
 * - borg 1.2 `check --progress` writes `Checking segments 5.6%`, `Verifying
 *   data  8.33%`, `Checking archives 25.0%` to stderr, each ended by a
 *   carriage return: a percent per step, no counts.
 */

/** Where a check is: its step, the step's percent (0-100) and, when the engine says, counts. */
export interface CheckProgress {
  step: string;
  percent: number;
  /** Items of the step done and in all (restic: snapshots, packs), or null (borg). */
  done: number | null;
  total: number | null;
  /** What the counts count ("packs"), or null. */
  unit: string | null;
}

const RESTIC_STATUS = /^\[(?:\d+:)?\d+:\d\d\]\s+(\d+(?:\.\d+)?)%\s+(\d+) \/ (\d+) (\S+)\s*$/;
const BORG_STATUS = /^([A-Za-z][A-Za-z ]*?)\s+(\d+(?:\.\d+)?)%$/;

/**
 * A reader of restic check's stdout lines: returns the progress a status
 * line gives (under the last heading), null for any other line.
 */
export function resticCheckReader(): (line: string) => CheckProgress | null {
  let step = "check";
  return (line) => {
    const m = RESTIC_STATUS.exec(line);
    if (!m) {
      if (line.trim() && !/^(using temporary cache|create exclusive lock|load indexes|no errors were found)/.test(line)) step = line.trim();
      return null;
    }
    return { step, percent: Number(m[1]), done: Number(m[2]), total: Number(m[3]), unit: m[4]! };
  };
}

/** One of borg's carriage-return-ended status fragments, or null. */
export function borgCheckProgress(fragment: string): CheckProgress | null {
  const m = BORG_STATUS.exec(fragment.trim());
  return m ? { step: m[1]!, percent: Number(m[2]), done: null, total: null, unit: null } : null;
}

/** Text with every carriage-return-ended fragment (a status line later overwritten) removed. */
export function withoutStatusFragments(text: string): string {
  return text.replace(/[^\r\n]*\r(?!\n)/g, "");
}

/** Calls `onLine` for each line or CR-ended fragment of a stream's chunks (the last partial one kept for the next chunk). */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let rest = "";
  return (chunk) => {
    const parts = (rest + chunk).split(/\r\n|\r|\n/);
    rest = parts.pop()!;
    for (const p of parts) onLine(p);
  };
}
