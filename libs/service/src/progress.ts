/** Progress figures of a running backup, restore or check, and the one ETA formula they share. Pure. */

/** What the progress bar shows. Percent 0-100, bytes, bytes per second, seconds. */
export interface ProgressFigures {
  percent: number | null;
  bytesDone: number | null;
  bytesExpected: number | null;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
}

/**
 * Figures from the ingest job's counters (bytes of the stream read so far,
 * and the sum of `backup-size` from the stream's qubes.xml) and the seconds
 * since the job started; `fallbackPercent` (the request's own progress, e.g.
 * qvm-backup's "Making a backup... 12.34%") is used while the job has no
 * expected size yet. Percent is capped at 100: backup-size is an estimate
 * that the framing makes the stream exceed slightly.
 */
export function progressFigures(
  job: { bytesDone: bigint | number; bytesExpected: bigint | number | null; elapsedSeconds: number } | null,
  fallbackPercent: number | null,
): ProgressFigures {
  if (!job) return { percent: fallbackPercent, bytesDone: null, bytesExpected: null, bytesPerSecond: null, etaSeconds: null };
  const done = Number(job.bytesDone);
  const expected = job.bytesExpected === null ? null : Number(job.bytesExpected);
  const rate = job.elapsedSeconds > 0 && done > 0 ? done / job.elapsedSeconds : null;
  const percent = expected && expected > 0 ? Math.min(100, (done / expected) * 100) : fallbackPercent;
  const eta = rate && expected ? etaSeconds(done / expected, job.elapsedSeconds) : null;
  return { percent, bytesDone: done, bytesExpected: expected, bytesPerSecond: rate, etaSeconds: eta };
}

/**
 * Seconds left when `fraction` (0-1) of a piece of work took
 * `elapsedSeconds`, at the same pace: elapsed × (1 − f) / f; 0 once the
 * fraction reaches 1; null while nothing is done or no time has passed (no
 * pace yet). The one ETA formula of backups, restores and checks.
 */
export function etaSeconds(fraction: number, elapsedSeconds: number): number | null {
  if (!(fraction > 0) || !(elapsedSeconds > 0)) return null;
  return fraction >= 1 ? 0 : (elapsedSeconds * (1 - fraction)) / fraction;
}
