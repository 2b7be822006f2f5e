/**
 * The reply lines of qubes.DedupBackup / qubes.DedupRestore: what dom0's
 * handler writes on stdout, one line each, and the backup qube parses:
 *
 * - `error: <reason>`: refused before anything ran (exit 2);
 * - `progress <percent>`: the run started (`0.00`) and advances, two decimals;
 * - `ok <summary>` (exit 0) or `error <reason>` (the run failed);
 * - `note <text>`: a line for the job's log, before the final line (e.g. a
 *   `"changed": true` backup names each qube with its reason). Not a
 *   {@link Reply}: {@link parseReply} returns null for it, so a backup qube
 *   that does not know notes ignores them; {@link parseNote} reads them.
 *
 * Texts are flattened to one line and bounded by {@link oneLine}. Pure.
 */

/** One reply line, parsed. `percent` is 0..100. */
export type Reply =
  | { kind: "refused"; reason: string }
  | { kind: "progress"; percent: number }
  | { kind: "ok"; summary: string }
  | { kind: "failed"; reason: string };

/** Most characters of a reason or summary dom0 writes on one line. */
export const MAX_REASON_CHARS = 400;
/** Most characters of a reason or summary the parser keeps (the writer's bound, with room for an older dom0). */
export const MAX_PARSED_CHARS = 1000;

const PROGRESS_RE = /^progress (\d{1,3}(?:\.\d+)?)$/;
const FINAL_RE = /^(ok|error:|error) (.*)$/;

/** `s` made safe for one reply line: control characters become spaces, at most {@link MAX_REASON_CHARS} characters. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat;
}

/** `12.5` -> "12.50": a percentage clamped to 0..100, as qvm-backup prints it. */
export function formatPercent(p: number): string {
  return Math.max(0, Math.min(100, p)).toFixed(2);
}

/** The line for `reply`, without its newline; texts pass through {@link oneLine}. */
export function formatReply(reply: Reply): string {
  switch (reply.kind) {
    case "refused":
      return `error: ${oneLine(reply.reason)}`;
    case "progress":
      return `progress ${formatPercent(reply.percent)}`;
    case "ok":
      return `ok ${oneLine(reply.summary)}`;
    case "failed":
      return `error ${oneLine(reply.reason)}`;
  }
}

/**
 * Parses one line dom0 wrote (without its newline). Percentages above 100
 * count as 100; texts are cut to {@link MAX_PARSED_CHARS}.
 * @returns the reply, or null for a line that is none of the four (ignored by callers).
 */
export function parseReply(line: string): Reply | null {
  const p = PROGRESS_RE.exec(line);
  if (p) return { kind: "progress", percent: Math.min(100, Number(p[1])) };
  const m = FINAL_RE.exec(line);
  if (!m) return null;
  const text = m[2]!.slice(0, MAX_PARSED_CHARS);
  if (m[1] === "ok") return { kind: "ok", summary: text };
  return m[1] === "error:" ? { kind: "refused", reason: text } : { kind: "failed", reason: text };
}

const NOTE_RE = /^note (.*)$/;

/** The line of a job-log note, without its newline; the text passes through {@link oneLine}. */
export function formatNote(text: string): string {
  return `note ${oneLine(text)}`;
}

/** The text of a `note <text>` line (cut to {@link MAX_PARSED_CHARS}), or null for any other line. */
export function parseNote(line: string): string | null {
  const m = NOTE_RE.exec(line);
  return m ? m[1]!.slice(0, MAX_PARSED_CHARS) : null;
}
