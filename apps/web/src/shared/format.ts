/**
 * Display helpers shared by the server and the browser. Pure functions; sizes
 * are bytes as `bigint` (the index db's type) or `number`.
 */
import type { CheckRunProgress } from "@qubes-dedup/service";
export { formatBytes } from "@qubes-dedup/service/format";

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

/**
 * Seconds as "1 h 02 min", "3 min 05 s" or "4.2 s". Hand-written: Node 20 has
 * no Intl.DurationFormat, and date-fns' formatDuration spells units out
 * ("3 minutes 5 seconds") without the padding this compact form needs.
 */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

const AGO = new Intl.RelativeTimeFormat("en", { numeric: "always", style: "long" });

/** How long ago `then` was at `now`: "just now", "5 minutes ago", "3 hours ago", "2 days ago". */
export function formatAge(then: Date, now: Date = new Date()): string {
  const s = Math.max(0, (now.getTime() - then.getTime()) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return AGO.format(-Math.floor(s / 60), "minute");
  if (s < 86400) return AGO.format(-Math.floor(s / 3600), "hour");
  return AGO.format(-Math.floor(s / 86400), "day");
}

/** Request states after which nothing changes any more (the service's taskEnded, for the browser). */
export const ENDED: ReadonlySet<string> = new Set(["succeeded", "failed", "refused", "cancelled"]);

/** What the user did, for a job's recorded kind: a dump is dom0 reading a snapshot for a restore. */
const JOB_KIND_TEXT: Record<string, string> = {
  "backup-request": "backup",
  backup: "backup",
  dump: "restore",
  restore: "restore",
  verify: "verification",
};

/** A job kind in the user's words: "backup", "restore", … (unknown kinds as recorded). */
export function jobKindText(kind: string): string {
  return JOB_KIND_TEXT[kind] ?? kind;
}

/**
 * The repository a page starts with: `preferred` (the one last used in
 * this browser) when it still exists, else the one named `default`, else the
 * one whose newest job is the most recent, else the first by name.
 */
export function pickRepository<R extends { name: string; lastJob: { startedAt: Date } | null }>(repos: readonly R[], preferred: string | null): R | undefined {
  const named = (n: string | null) => (n === null ? undefined : repos.find((r) => r.name === n));
  const byUse = [...repos].filter((r) => r.lastJob).sort((a, b) => b.lastJob!.startedAt.getTime() - a.lastJob!.startedAt.getTime());
  return named(preferred) ?? named("default") ?? byUse[0] ?? repos[0];
}

/** A running check's progress as the service reports it (type only: nothing of the service reaches the browser). */
export type CheckProgressView = CheckRunProgress;

/**
 * One line for a running check: "read 5.0% of data packs: 9 / 10 packs (90.0%) · 12.0 s elapsed · ETA 1.3 s for this step",
 * or, before the engine gave a figure, "no progress figure from borg yet · 3.0 s elapsed".
 */
export function checkProgressText(p: CheckProgressView): string {
  const elapsed = `${formatDuration(p.elapsedSeconds)} elapsed`;
  if (!p.step || p.percent === null) return `${p.note ?? "no progress figure yet"} · ${elapsed}`;
  const where = p.done !== null && p.total !== null ? `${p.done} / ${p.total}${p.unit ? ` ${p.unit}` : ""} (${p.percent.toFixed(1)}%)` : `${p.percent.toFixed(1)}%`;
  return `${p.step}: ${where} · ${elapsed}${p.stepEtaSeconds === null ? "" : ` · ETA ${formatDuration(p.stepEtaSeconds)} for this step`}`;
}
