/** Progress figures of a running backup or restore. Pure. */

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
  const eta = rate && expected !== null ? Math.max(0, (expected - done) / rate) : null;
  return { percent, bytesDone: done, bytesExpected: expected, bytesPerSecond: rate, etaSeconds: eta };
}
