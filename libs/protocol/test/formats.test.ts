import { describe, expect, it } from "vitest";
import { TRAILER_MAGIC, TrailerError, TrailerVerifier, TrailerWriter, isProjectPassphraseLine, macKey, makeTrailer, newProjectPassphrase, parseTrailer, passphraseLine, tagMatches, trailerSize } from "../src/formats/index.ts";

import { bytes } from "@qubes-dedup/qubes-sim/testing";

const key = macKey(passphraseLine("qubes-dedup-v1-" + "00".repeat(32), { backupId: "20250102T030405-1234", path: "vm3/private.img.000" }));

describe("trailer format", () => {
  it("is 48 bytes: magic, big-endian length, tag; deterministic", () => {
    const data = bytes(1000);
    const t = makeTrailer(key, data);
    expect(trailerSize()).toBe(48);
    expect(t.length).toBe(48);
    expect(t.subarray(0, 8)).toEqual(TRAILER_MAGIC);
    expect(t.subarray(0, 8).toString("latin1")).toBe("qddmac\0\x01");
    expect(t.readBigUInt64BE(8)).toBe(1000n);
    expect(makeTrailer(key, data)).toEqual(t);
    expect(parseTrailer(t, 1048)).toEqual({ dataLength: 1000, tag: t.subarray(16) });
  });

  it("binds the whole passphrase line", () => {
    const data = bytes(10);
    const a = makeTrailer(macKey("id1!vm3/private.img.000!p"), data);
    const b = makeTrailer(macKey("id2!vm3/private.img.000!p"), data);
    const c = makeTrailer(macKey("id1!vm3/private.img.001!p"), data);
    expect(new Set([a.toString("hex"), b.toString("hex"), c.toString("hex")]).size).toBe(3);
    expect(macKey("x")).toEqual(macKey(Buffer.from("x")));
  });

  it("rejects a wrong size, wrong magic and a length that does not match the file", () => {
    const t = makeTrailer(key, bytes(5));
    expect(() => parseTrailer(t.subarray(1))).toThrow("a qubes-dedup trailer is 48 bytes, got 47; pass exactly the last 48 bytes of the file.");
    const bad = Buffer.from(t);
    bad[0]! ^= 1;
    expect(() => parseTrailer(bad)).toThrow(TrailerError);
    expect(() => parseTrailer(t, 52)).toThrow("the qubes-dedup trailer names 5 data bytes but the file holds 4; the file is truncated or extended.");
  });

  it("verifies in a stream whatever the chunking, releasing only data", () => {
    const data = bytes(20_000, 7);
    const whole = Buffer.concat([data, makeTrailer(key, data)]);
    for (const step of [1, 47, 48, 49, 4096, whole.length]) {
      const v = new TrailerVerifier(key);
      const out: Buffer[] = [];
      for (let i = 0; i < whole.length; i += step) out.push(Buffer.from(v.update(whole.subarray(i, i + step))));
      expect(v.final()).toBe(data.length);
      expect(Buffer.concat(out)).toEqual(data);
    }
  });

  it("fails the streaming verifier on a flipped bit, a truncation and a wrong key", () => {
    const data = bytes(5000, 3);
    const whole = Buffer.concat([data, makeTrailer(key, data)]);
    const flipped = Buffer.from(whole);
    flipped[100]! ^= 0x10;
    const v1 = new TrailerVerifier(key);
    v1.update(flipped);
    expect(() => v1.final()).toThrow("the qubes-dedup trailer does not verify: wrong passphrase, altered data, or a chunk from another file or backup.");
    const v2 = new TrailerVerifier(key);
    v2.update(whole.subarray(0, whole.length - 1));
    expect(() => v2.final()).toThrow(TrailerError);
    const v3 = new TrailerVerifier(macKey("other"));
    v3.update(whole);
    expect(() => v3.final()).toThrow(/does not verify/);
  });

  it("writes the same trailer incrementally as at once", () => {
    const data = bytes(3000);
    const w = new TrailerWriter(key).update(data.subarray(0, 1)).update(data.subarray(1));
    expect(w.dataLength).toBe(3000);
    expect(w.trailer()).toEqual(makeTrailer(key, data));
  });

  it("tells the right tag from a wrong one of the same data length", () => {
    const data = bytes(64, 9);
    const tag = makeTrailer(key, data).subarray(16);
    expect(tagMatches(new TrailerWriter(key).update(data), tag)).toBe(true);
    expect(tagMatches(new TrailerWriter(macKey("other")).update(data), tag)).toBe(false);
    expect(tagMatches(new TrailerWriter(key).update(data), tag.subarray(1))).toBe(false);
  });
});

describe("passphrase lines", () => {
  it("are the lines Qubes builds for the header and for each chunk", () => {
    expect(passphraseLine("p")).toBe("backup-header!p");
    expect(passphraseLine("p", { backupId: "20250101T000000-1", path: "vm3/private.img.000" })).toBe("20250101T000000-1!vm3/private.img.000!p");
  });
});

describe("project passphrases", () => {
  it("are recognised as the last !-field of the line", () => {
    const p = newProjectPassphrase();
    expect(p).toMatch(/^qubes-dedup-v1-[0-9a-f]{64}$/);
    expect(newProjectPassphrase()).not.toBe(p);
    expect(isProjectPassphraseLine(`backup-header!${p}`)).toBe(true);
    expect(isProjectPassphraseLine(`20250101T000000-1!vm3/private.img.000!${p}`)).toBe(true);
    expect(isProjectPassphraseLine(p)).toBe(true);
    expect(isProjectPassphraseLine(`backup-header!${p}x`)).toBe(false);
    expect(isProjectPassphraseLine(`backup-header!${p.toUpperCase()}`)).toBe(false);
    expect(isProjectPassphraseLine(`${p}!something`)).toBe(false);
    expect(isProjectPassphraseLine("backup-header!hunter2")).toBe(false);
  });
});
