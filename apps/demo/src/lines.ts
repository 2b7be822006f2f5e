/**
 * qvm-backup redraws its progress in place (`\rMaking a backup... 12.34%`);
 * the demo's output is read in logs and terminals that do not redraw, so
 * each update becomes a line of its own.
 */

/**
 * A relay that turns carriage returns into line ends, writing through
 * `write`: a `\r` at the start of a line (or of a `\r\n`) adds nothing, so no
 * empty lines appear. Keeps what it needs across chunks. Pure but for `write`.
 */
export function lineRelay(write: (text: string) => void): (chunk: string) => void {
  let atLineStart = true;
  let pendingCR = false;
  return (chunk) => {
    let out = "";
    for (const c of chunk) {
      if (c === "\r") {
        pendingCR = true;
        continue;
      }
      if (pendingCR) {
        pendingCR = false;
        if (!atLineStart && c !== "\n") {
          out += "\n";
          atLineStart = true;
        }
      }
      if (c === "\n" && atLineStart && out.endsWith("\n")) continue;
      out += c;
      atLineStart = c === "\n";
    }
    if (out) write(out);
  };
}
