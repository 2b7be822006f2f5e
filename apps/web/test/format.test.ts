import { describe, expect, it } from "vitest";
import { checkProgressText, exactBytes, formatAge, formatBytes, formatDuration, formatRatio, formatTime, jobKindText, pickRepository } from "../src/shared/format.ts";

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

describe("pickRepository and jobKindText", () => {
  const at = (iso: string) => ({ startedAt: new Date(iso) });
  const repos = [
    { name: "archive", lastJob: at("2026-11-30T10:00:00Z") },
    { name: "default", lastJob: at("2026-11-01T10:00:00Z") },
    { name: "offsite", lastJob: null },
  ];
  it("starts with the one last used here, else the one named default, not the first by name", () => {
    expect(pickRepository(repos, "offsite")?.name).toBe("offsite");
    expect(pickRepository(repos, null)?.name).toBe("default");
    expect(pickRepository(repos, "gone")?.name).toBe("default");
  });
  it("without a default, takes the one with the newest job", () => {
    expect(pickRepository(repos.filter((r) => r.name !== "default"), null)?.name).toBe("archive");
    expect(pickRepository([{ name: "b", lastJob: null }, { name: "c", lastJob: null }], null)?.name).toBe("b");
    expect(pickRepository([], null)).toBeUndefined();
  });
  it("names jobs by what the user did", () => {
    expect(["dump", "restore", "backup-request", "backup", "check"].map(jobKindText)).toEqual(["restore", "restore", "backup", "backup", "check"]);
  });
});

describe("checkProgressText", () => {
  const base = { step: null, percent: null, done: null, total: null, unit: null, elapsedSeconds: 3, stepEtaSeconds: null, note: "no progress figure from borg yet" };
  it("says the step, counts or percent, elapsed time and the step's ETA; elapsed time alone before the first figure", () => {
    expect(checkProgressText(base)).toBe("no progress figure from borg yet · 3.0 s elapsed");
    expect(checkProgressText({ ...base, step: "read 5.0% of data packs", percent: 90, done: 9, total: 10, unit: "packs", elapsedSeconds: 12, stepEtaSeconds: 1.25, note: null })).toBe(
      "read 5.0% of data packs: 9 / 10 packs (90.0%) · 12.0 s elapsed · ETA 1.3 s for this step",
    );
    expect(checkProgressText({ ...base, step: "Verifying data", percent: 8.33, elapsedSeconds: 75, stepEtaSeconds: null, note: null })).toBe("Verifying data: 8.3% · 1 min 15 s elapsed");
  });
});
