/**
 * Byte counts for people, on a terminal: pure, no I/O, so it is also
 * importable alone as `@qubes-dedup/service/format` (the demo does).
 */
import prettyBytes from "pretty-bytes";

/**
 * Human-readable byte count in binary units: whole bytes below 1 KiB
 * ("512 B"), one decimal from KiB up ("1.5 KiB", "128.0 MiB"). The decimal
 * is truncated, not rounded (pretty-bytes' rule): 5.48 MiB shows as "5.4 MiB".
 * Locale-independent (a dot, no grouping).
 */
export function formatBytes(bytes: number | bigint): string {
  const n = Number(bytes);
  return Math.abs(n) < 1024 ? prettyBytes(n, { binary: true }) : prettyBytes(n, { binary: true, minimumFractionDigits: 1, maximumFractionDigits: 1 });
}
