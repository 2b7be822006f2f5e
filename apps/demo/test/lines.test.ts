import { describe, expect, it } from "vitest";
import { lineRelay } from "../src/lines.ts";

function relay(chunks: string[]): string {
  let out = "";
  const r = lineRelay((t) => (out += t));
  chunks.forEach(r);
  return out;
}

describe("lineRelay", () => {
  it("puts each qvm-backup progress update on its own line, without empty lines", () => {
    expect(relay(["\rMaking a backup... 0.00%", "\rMaking a backup... 51.20%\rMaking a backup... 100.00%", "\n", "Backup done.\n"])).toBe(
      "Making a backup... 0.00%\nMaking a backup... 51.20%\nMaking a backup... 100.00%\nBackup done.\n",
    );
  });

  it("keeps CR LF line ends as one line end, also when split between chunks", () => {
    expect(relay(["one\r", "\ntwo\r\n", "\rthree"])).toBe("one\ntwo\nthree");
  });
});
