/**
 * Display helpers shared by the server and the browser. Pure functions; sizes
 * are bytes as `bigint` (the index db's type) or `number`.
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/**
 * Human-readable binary size, e.g. `1536n` -> "1.5 KiB", `0n` -> "0 B".
 * One decimal from KiB upwards; bytes are shown whole.
 */
export function formatBytes(bytes: bigint | number): string {
  const n = typeof bytes === "bigint" ? Number(bytes) : bytes;
  if (!Number.isFinite(n)) return "?";
  const sign = n < 0 ? "-" : "";
  let v = Math.abs(n);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return unit === 0 ? `${sign}${v} B` : `${sign}${v.toFixed(1)} ${UNITS[unit]}`;
}

/** Exact size for a title attribute, e.g. `1536n` -> "1,536 bytes". */
export function exactBytes(bytes: bigint | number): string {
  const s = BigInt(bytes).toString();
  return `${s.replace(/\B(?=(\d{3})+(?!\d))/g, ",")} bytes`;
}

/** A dedup ratio as "3.42×", or "—" when there is none (empty repository). */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? "—" : `${ratio.toFixed(2)}×`;
}

/** "2026-11-30 05:12:00 UTC" — a fixed, locale-independent timestamp. */
export function formatTime(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Seconds as "1 h 02 min", "3 min 05 s" or "4.2 s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** How long ago `then` was at `now`: "just now", "5 min ago", "3 h ago", "2 days ago". */
export function formatAge(then: Date, now: Date = new Date()): string {
  const s = Math.max(0, (now.getTime() - then.getTime()) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return `${d} day${d === 1 ? "" : "s"} ago`;
}
