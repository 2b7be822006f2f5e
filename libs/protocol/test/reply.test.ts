import { describe, expect, it } from "vitest";
import { formatNote, formatPercent, formatReply, oneLine, parseNote, parseReply, type Reply } from "../src/index.ts";

describe("reply lines", () => {
  it("are written as documented, one line each", () => {
    expect(formatReply({ kind: "refused", reason: 'qube "a b" is not a valid qube name' })).toBe('error: qube "a b" is not a valid qube name');
    expect(formatReply({ kind: "progress", percent: 12.5 })).toBe("progress 12.50");
    expect(formatReply({ kind: "progress", percent: 0 })).toBe("progress 0.00");
    expect(formatReply({ kind: "progress", percent: 140 })).toBe("progress 100.00");
    expect(formatReply({ kind: "ok", summary: "backup of work sent" })).toBe("ok backup of work sent");
    expect(formatReply({ kind: "failed", reason: "qvm-backup failed (exit 4)" })).toBe("error qvm-backup failed (exit 4)");
    expect(formatReply({ kind: "failed", reason: "two\nlines\r\u0000" })).toBe("error two lines");
  });

  it("round-trip through the parser", () => {
    const replies: Reply[] = [
      { kind: "refused", reason: "the request is empty; send one JSON line such as {}." },
      { kind: "progress", percent: 0 },
      { kind: "progress", percent: 42.5 },
      { kind: "progress", percent: 100 },
      { kind: "ok", summary: "restored 1 qube(s): work from snapshot 0a1b2c3d" },
      { kind: "failed", reason: "error: looks like a refusal but is a failure" },
      { kind: "ok", summary: "" },
    ];
    for (const r of replies) expect(parseReply(formatReply(r))).toEqual(r);
  });

  it("parse what dom0 writes and ignore everything else", () => {
    expect(parseReply("error: refused")).toEqual({ kind: "refused", reason: "refused" });
    expect(parseReply("error refused")).toEqual({ kind: "failed", reason: "refused" });
    expect(parseReply("progress 250")).toEqual({ kind: "progress", percent: 100 });
    expect(parseReply("ok " + "x".repeat(2000))).toEqual({ kind: "ok", summary: "x".repeat(1000) });
    for (const l of ["", "ok", "error:x", "errorx y", "progress", "progress -1", "progress 1e3", "progress 12.50 ", " ok x", "OK x", "progress 1000"]) {
      expect(parseReply(l), l).toBeNull();
    }
  });

  it("notes: `note <text>` for the job log, one line, which parseReply ignores", () => {
    expect(formatNote("work: changed: private volume replaced (lv uuid)")).toBe("note work: changed: private volume replaced (lv uuid)");
    expect(formatNote("a\nb")).toBe("note a b");
    expect(parseNote(formatNote("vault: unchanged since 20261201T000000-1"))).toBe("vault: unchanged since 20261201T000000-1");
    expect(parseReply("note vault: never backed up")).toBeNull();
    for (const l of ["note", "notes x", "ok note x", " note x"]) expect(parseNote(l), l).toBeNull();
    expect(parseNote(`note ${"x".repeat(2000)}`)).toBe("x".repeat(1000));
  });

  it("flatten control characters and bound texts", () => {
    expect(oneLine("a\nb\r\u0000c\u001b[31m")).toBe("a b c [31m");
    expect(oneLine("x".repeat(1000))).toHaveLength(400);
    expect(formatPercent(-3)).toBe("0.00");
  });
});
