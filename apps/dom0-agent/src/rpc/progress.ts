/**
 * Reads what qvm-backup / qvm-backup-restore print, for the qrexec caller:
 * qvm-backup's progress is `\rMaking a backup... 12.34%` on stderr
 * (DESIGN.md); everything else is kept, bounded, as the text to report when
 * the run fails. The reply lines themselves are @qubes-dedup/protocol's. Pure.
 */

const PROGRESS_RE = /Making a backup\.\.\. +(\d{1,3}(?:\.\d+)?)%/;

/**
 * Splits a tool's output into lines (`\r` and `\n` both end one) and keeps
 * the last `keep` non-progress lines; reports each progress percentage seen.
 */
export class OutputReader {
  private partial = "";
  private readonly tail: string[] = [];

  constructor(private readonly keep = 20) {}

  /** Feeds text; returns the progress percentages (0..100) it contained, in order. */
  feed(text: string): number[] {
    const pieces = (this.partial + text).split(/[\r\n]/);
    this.partial = (pieces.pop() ?? "").slice(-4096);
    const out: number[] = [];
    for (const p of pieces) this.take(p, out);
    return out;
  }

  /** Ends the input; returns any percentage in the last, unterminated line. */
  end(): number[] {
    const out: number[] = [];
    this.take(this.partial, out);
    this.partial = "";
    return out;
  }

  /** The last non-empty, non-progress lines, oldest first. */
  lines(): string[] {
    return [...this.tail];
  }

  private take(line: string, out: number[]): void {
    const m = PROGRESS_RE.exec(line);
    if (m) {
      out.push(Math.min(100, Number(m[1])));
      return;
    }
    const t = line.trim();
    if (!t) return;
    this.tail.push(t.slice(0, 1000));
    if (this.tail.length > this.keep) this.tail.shift();
  }
}

/**
 * The qubes in qvm-backup-restore's `-> Restored|Verified|Skipping <name>[ as <new name>]...`
 * lines; a qube restored under another name (--rename-conflicting) is "<name> as <new name>".
 */
export function restoreOutcome(lines: string[]): { done: string[]; skipped: string[] } {
  const done: string[] = [];
  const skipped: string[] = [];
  for (const l of lines) {
    const m = /^-> (Restored|Verified|Skipping) ([A-Za-z0-9_.-]+)(?: as ([A-Za-z0-9_.-]+))?/.exec(l);
    if (!m) continue;
    const list = m[1] === "Skipping" ? skipped : done;
    const name = m[3] ? `${m[2]} as ${m[3]}` : m[2]!;
    if (!list.includes(name)) list.push(name);
  }
  return { done, skipped };
}
