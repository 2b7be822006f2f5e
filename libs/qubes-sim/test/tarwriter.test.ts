import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SparseMapBuilder, sparseMemberHeader, volumeInnerStream, writeVolumeImage } from "../src/index.ts";
import { paxRecord, sparseMapText } from "../src/backup/tarwriter.ts";
import { sha256File, tmpDir } from "../src/testing/index.ts";

function blocks(spec: string): Buffer {
  // "D" = a 512-byte data block, "0" = a zero block.
  return Buffer.concat([...spec].map((c) => (c === "D" ? Buffer.alloc(512, 0x41) : Buffer.alloc(512))));
}

// An independent oracle: Python's tarfile PAX writer with the sparse keys
// set by hand (the format facts of Qubes' tar writer).
function pythonHeader(name: string, map: [number, number][], pid: number): Buffer {
  const script = `
import sys, tarfile, json, os
name, pid, m = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
txt = str(len(m)) + "\\n" + "".join("%d\\n%d\\n" % (o, s) for o, s in m)
if len(txt) % 512: txt += "\\0" * (512 - len(txt) % 512)
ti = tarfile.TarInfo(os.path.dirname(name) + "/GNUSparseFile." + pid + "/" + os.path.basename(name))
ti.size = sum(s for o, s in m) + len(txt)
ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name, "GNU.sparse.realsize": str(m[-1][0] + m[-1][1])}
sys.stdout.buffer.write(ti.tobuf(tarfile.PAX_FORMAT) + txt.encode())
`;
  return execFileSync("python3", ["-c", script, name, String(pid), JSON.stringify(map)]);
}

describe("sparse map", () => {
  it("finds data runs on 512-byte blocks and ends with the file end", () => {
    const b = new SparseMapBuilder();
    b.feed(blocks("DD00D"));
    b.feed(blocks("D000"));
    expect(b.finish()).toEqual([[0, 1024], [2048, 1024], [4608, 0]]);
  });

  it("ends with a data run when the file ends in data, and maps an empty file to [[0,0]]", () => {
    const b = new SparseMapBuilder();
    b.feed(blocks("0D"));
    expect(b.finish()).toEqual([[512, 512]]);
    expect(new SparseMapBuilder().finish()).toEqual([[0, 0]]);
  });

  it("writes the map as count + offset/size lines, NUL-padded to 512", () => {
    const t = sparseMapText([[0, 1024], [4096, 0]]);
    expect(t.length).toBe(512);
    expect(t.subarray(0, 16).toString()).toBe("2\n0\n1024\n4096\n0\n");
    expect(t[16]).toBe(0);
  });

  it("computes self-counting PAX record lengths", () => {
    expect(paxRecord("GNU.sparse.major", "1").toString()).toBe("22 GNU.sparse.major=1\n");
    expect(paxRecord("k", "x".repeat(95)).toString()).toBe(`102 k=${"x".repeat(95)}\n`);
  });
});

describe("sparse member header", () => {
  it("is byte-identical to Python tarfile's PAX output with the same sparse keys", () => {
    const map: [number, number][] = [[0, 4096], [65536, 8192], [1048576, 0]];
    const ours = sparseMemberHeader("vm3/private.img", map, 4242);
    expect(ours.equals(pythonHeader("vm3/private.img", map, 4242))).toBe(true);
    expect(ours.length).toBe(512 * 4);
    expect(ours.subarray(1024, 1024 + 34).toString()).toBe("vm3/GNUSparseFile.4242/private.img");
  });
});

describe("volume inner stream", () => {
  it("extracts with GNU tar to the identical image, ends with two zero blocks and has no record padding", async () => {
    const dir = tmpDir("tw");
    const img = path.join(dir, "private.img");
    writeVolumeImage(img, 1024 * 1024, "tw");
    const chunks: Buffer[] = [];
    for await (const c of volumeInnerStream(img, "vm7/private.img", 99)) chunks.push(c as Buffer);
    const stream = Buffer.concat(chunks);
    fs.writeFileSync(path.join(dir, "inner.tar"), stream);
    expect(stream.subarray(-1024).equals(Buffer.alloc(1024))).toBe(true);
    // GNU tar reads GNU sparse 1.0 and restores the real name and size.
    expect(execFileSync("tar", ["-tvf", "inner.tar"], { cwd: dir, encoding: "utf8" })).toMatch(/ 1048576 1970-01-01 00:00 vm7\/private\.img\n$/);
    execFileSync("tar", ["-xf", "inner.tar"], { cwd: dir });
    expect(sha256File(path.join(dir, "vm7", "private.img"))).toBe(sha256File(img));
    // Deterministic for unchanged content (same writer pid).
    const again: Buffer[] = [];
    for await (const c of volumeInnerStream(img, "vm7/private.img", 99)) again.push(c as Buffer);
    expect(Buffer.concat(again).equals(stream)).toBe(true);
  });
});
