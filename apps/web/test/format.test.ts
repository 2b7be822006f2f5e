import { describe, expect, it } from "vitest";
import { exactBytes, formatAge, formatBytes, formatDuration, formatRatio, formatTime } from "../src/shared/format.ts";

describe("format", () => {
  it("formats sizes in binary units", () => {
    expect(formatBytes(0n)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536n)).toBe("1.5 KiB");
    expect(formatBytes(5n * 2n ** 40n)).toBe("5.0 TiB");
  });
  it("gives exact bytes with separators", () => {
    expect(exactBytes(2252341248n)).toBe("2,252,341,248 bytes");
    expect(exactBytes(999)).toBe("999 bytes");
  });
  it("formats ratio, time and duration", () => {
    expect(formatRatio(null)).toBe("—");
    expect(formatRatio(2.8603)).toBe("2.86×");
    expect(formatTime(new Date("2026-11-02T10:04:00.123Z"))).toBe("2026-11-02 10:04:00 UTC");
    expect(formatDuration(4.24)).toBe("4.2 s");
    expect(formatDuration(185)).toBe("3 min 05 s");
    expect(formatDuration(3720)).toBe("1 h 02 min");
  });
  it("says how long ago, in whole units", () => {
    const now = new Date("2026-11-30T12:00:00Z");
    const ago = (s: number) => formatAge(new Date(now.getTime() - s * 1000), now);
    expect(ago(59)).toBe("just now");
    expect(ago(5 * 60 + 30)).toBe("5 minutes ago");
    expect(ago(3 * 3600)).toBe("3 hours ago");
    expect(ago(86400)).toBe("1 day ago");
    expect(ago(2.5 * 86400)).toBe("2 days ago");
    expect(formatAge(new Date(now.getTime() + 5000), now)).toBe("just now");
  });
  it("rounds sizes to the next unit and shows unknown sizes as ?", () => {
    expect(formatBytes(2252341248n)).toBe("2.1 GiB");
    expect(formatBytes(-1536)).toBe("-1.5 KiB");
    expect(formatBytes(Number.NaN)).toBe("?");
  });
});
