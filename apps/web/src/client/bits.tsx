"use client";
import { exactBytes, formatBytes, formatTime } from "../shared/format.ts";

/** A size shown human-readable, exact bytes on hover (title attribute). */
export function Bytes({ value, testId }: { value: bigint | null; testId?: string }) {
  if (value === null) return <span data-testid={testId}>—</span>;
  return (
    <span className="bytes" title={exactBytes(value)} data-testid={testId} data-bytes={value.toString()}>
      {formatBytes(value)}
    </span>
  );
}

/** A timestamp in UTC with the ISO time as machine-readable value. */
export function Time({ value }: { value: Date }) {
  return <time dateTime={value.toISOString()}>{formatTime(value)}</time>;
}

/** A coloured job status badge. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}
