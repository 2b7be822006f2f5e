/** Human-readable byte count with binary units, e.g. 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number | bigint): string {
  let n = Number(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}
