/**
 * Byte counts for people, shared by the terminal (CLI, demo) and the
 * dashboard: pure, no I/O, so it is also importable alone as
 * `@qubes-dedup/service/format` (the demo and the browser bundle do).
 */
import { filesize } from "filesize";

/**
 * Human-readable binary size (IEC units, rounded to one decimal from KiB up;
 * whole bytes below 1 KiB), e.g. `1536n` -> "1.5 KiB", `0` -> "0 B",
 * 2,252,341,248 -> "2.1 GiB". Locale-independent (a dot, no grouping).
 * @param bytes a size in bytes (`bigint` as the index db stores it, or `number`)
 * @returns the formatted size, or "?" for a non-finite number
 */
export function formatBytes(bytes: bigint | number): string {
  const n = typeof bytes === "bigint" ? Number(bytes) : bytes;
  if (!Number.isFinite(n)) return "?";
  return filesize(n, { base: 2, standard: "iec", round: Math.abs(n) < 1024 ? 0 : 1, pad: true });
}
