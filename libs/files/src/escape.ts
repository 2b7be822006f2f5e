/**
 * Names and link targets come from the qube's filesystem, so they are as
 * untrusted as the qube: shown escaped, never interpreted. Control
 * characters (C0, DEL, C1: newlines, terminal escapes), the backslash and
 * the bidirectional overrides become visible `\n`, `\t`, `\\`, `\xNN` or
 * `\u{NNNN}` sequences; everything else is kept.
 * @param name a decoded name (invalid UTF-8 already replaced by U+FFFD)
 * @returns a string with no control characters
 */
export function escapeName(name: string): string {
  let out = "";
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (BIDI.has(c)) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out;
}

/** Unicode bidirectional controls (Trojan Source, CVE-2021-42574) and the line/paragraph separators. */
const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

/** True when `escapeName(name) !== name`: the name holds characters a terminal or a shell would act on. */
export function needsEscape(name: string): boolean {
  return escapeName(name) !== name;
}
