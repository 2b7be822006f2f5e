import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { IngestError, NO_TRAILER, SHIM_TRAILER, BackupStreamParser, parseBackupHeader, parseQubesXml, type TrailerFormat } from "../src/index.ts";
import { classifyName } from "../src/stream/member-names.ts";
import { archive, ustarHeader } from "./helpers/craft.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const HEADER = Buffer.from("version=4\nhmac-algorithm=scrypt\nencrypted=True\ncompressed=False\nbackup-id=20250101T000000-1\n");

function analyze(bytes: Buffer, step = 1000, trailer: TrailerFormat = NO_TRAILER): BackupStreamParser {
  const a = new BackupStreamParser(undefined, trailer);
  for (let i = 0; i < bytes.length; i += step) a.write(bytes.subarray(i, i + step));
  a.end();
  return a;
}
const fails = (bytes: Buffer) => {
  try {
    analyze(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(IngestError);
    return (e as Error).message;
  }
  throw new Error("accepted");
};

describe("qubes.xml", () => {
  it("parses the fixture: 20 domains, 9 in the backup, dom0 included", () => {
    const q = parseQubesXml(fs.readFileSync(path.join(FIXTURES, "v4-qubes.xml"), "utf8"));
    expect(q).toHaveLength(20);
    const inBackup = q.filter((x) => x.backupContent);
    expect(inBackup).toHaveLength(9);
    expect(inBackup.find((x) => x.qid === 0)).toMatchObject({ name: "dom0", backupPath: "dom0-home/user", backupSize: 20971520 });
    const work = q.find((x) => x.name === "test-work")!;
    expect(work).toMatchObject({ qid: 3, klass: "AppVM", backupPath: "appvms/test-work", backupSize: 2097152000 });
    expect(work.volumes.filter((v) => v.saveOnStop).map((v) => v.name)).toEqual(["private"]);
  });
  it("refuses malformed XML", () => {
    expect(() => parseQubesXml("<qubes><domains>")).toThrow(IngestError);
    expect(() => parseQubesXml("<other/>")).toThrow(/has no <qubes><domains> element/);
  });
});

describe("backup-header", () => {
  it("parses the v4 keys", () => {
    const h = parseBackupHeader(Buffer.from("version=4\nhmac-algorithm=scrypt\ncrypto-algorithm=scrypt\nencrypted=True\ncompressed=True\ncompression-filter=gzip\nbackup-id=20161020T123455-1234\n"));
    expect(h).toMatchObject({ version: 4, encrypted: true, compressed: true, compressionFilter: "gzip", hmacAlgorithm: "scrypt", backupId: "20161020T123455-1234" });
    expect(h.raw["crypto-algorithm"]).toBe("scrypt");
  });
  it("refuses other versions, junk and oversize", () => {
    expect(() => parseBackupHeader(Buffer.from("version=3\nbackup-id=x\n"))).toThrow(/version=3 is not the supported format version 4/);
    expect(() => parseBackupHeader(Buffer.from("hello world\n"))).toThrow(/is not key=value/);
    expect(() => parseBackupHeader(Buffer.alloc(5000, 0x61))).toThrow(/over 4096/);
    expect(() => parseBackupHeader(Buffer.from("version=4\n"))).toThrow(/backup-id is missing/);
  });
  it("takes a backup-id only in qvm-backup's shape, YYYYmmddTHHMMSS-<pid> (protocol's rule)", () => {
    const h = (id: string) => parseBackupHeader(Buffer.from(`version=4\nbackup-id=${id}\n`));
    expect(h("20261201T221500-4242").backupId).toBe("20261201T221500-4242");
    for (const bad of ["x", "20261201T221500", "20261201T221500-", "20261201-221500-1", "20261201T221500-1;rm", "../20261201T221500-1"])
      expect(() => h(bad)).toThrow("backup-id is missing or malformed (expected YYYYmmddTHHMMSS-<pid>, as qvm-backup writes it in the backup-header)");
  });
});

describe("member names", () => {
  it("accepts the v4 shapes", () => {
    expect(classifyName("backup-header")).toEqual({ kind: "header" });
    expect(classifyName("backup-header.hmac")).toEqual({ kind: "hmac" });
    expect(classifyName("qubes.xml.000.enc")).toEqual({ kind: "chunk", file: "qubes.xml", index: 0 });
    expect(classifyName("vm12/private.img.1000.enc")).toEqual({ kind: "chunk", file: "vm12/private.img", index: 1000 });
    expect(classifyName("dom0-home/user.002.enc")).toEqual({ kind: "chunk", file: "dom0-home/user", index: 2 });
  });
  it("refuses absolute, .., control characters and odd shapes", () => {
    expect(classifyName("/etc/passwd.000.enc")).toBe("it is an absolute path");
    expect(classifyName("vm1/../x.000.enc")).toMatch(/`\.\.` component/);
    expect(classifyName("vm1/a\nb.000.enc")).toBe("it contains control characters");
    expect(classifyName("vm1/private.img")).toMatch(/is not `backup-header`/);
    expect(classifyName("private.img.000.enc")).toMatch(/must be qubes.xml/);
  });
});

describe("backup stream parser", () => {
  const dir = tmpDir("pipeline");
  const good = fs.readFileSync(makeStream(dir, { qubes: smallSystem(), chunkSize: 4096, dom0Home: { user: "user", files: { a: Buffer.from("x") } } }));
  const head = Buffer.concat([archive("backup-header", HEADER), archive("backup-header.hmac", HEADER)]);

  it("accepts a complete stream split at any size", () => {
    for (const step of [1, 7, 512, 10240, 65536]) {
      const a = new BackupStreamParser();
      for (let i = 0; i < good.length; i += step) a.write(good.subarray(i, i + step));
      a.end();
      expect([...a.files.keys()]).toEqual(["qubes.xml", "vm3/private.img", "vm5/private.img", "vm5/firewall.xml", "dom0-home/user"]);
      if (step !== 1) continue;
      expect(a.files.get("vm3/private.img")!.chunks).toBeGreaterThan(10);
    }
  });
  it("refuses a bad checksum", () => {
    const bad = Buffer.from(good);
    bad[20480 + 5] = bad[20480 + 5]! ^ 1; // inside qubes.xml.000.enc's first header
    expect(fails(bad)).toMatch(/^the backup stream is malformed after \d+ bytes in backup-header\.hmac: bad tar header checksum;/);
  });
  it("refuses an .hmac over 4096 bytes", () => {
    const s = Buffer.concat([archive("backup-header", HEADER), archive("backup-header.hmac", Buffer.alloc(5000, 1))]);
    expect(fails(s)).toMatch(/backup-header\.hmac is 5000 bytes, over the 4096-byte limit/);
  });
  it("refuses names outside the shape", () => {
    expect(fails(Buffer.concat([head, archive("/abs.000.enc", Buffer.alloc(10))]))).toMatch(/is refused: it is an absolute path/);
    expect(fails(Buffer.concat([head, archive("vm1/../../x.000.enc", Buffer.alloc(10))]))).toMatch(/`\.\.` component/);
    expect(fails(Buffer.concat([head, archive("vm1/a\x01.000.enc", Buffer.alloc(10))]))).toMatch(/control characters/);
    expect(fails(Buffer.concat([head, archive("vm1/x.000.enc", Buffer.alloc(10))]))).toMatch(/qubes\.xml\.000\.enc must follow the header files/);
  });
  it("refuses a wrong order and a non-backup", () => {
    expect(fails(archive("backup-header.hmac", HEADER))).toMatch(/not backup-header, so it is not a Qubes backup/);
    expect(fails(Buffer.alloc(20480))).toMatch(/starts with zero blocks, so it is not a Qubes backup/);
    expect(fails(Buffer.from("hello\n".repeat(200)))).toMatch(/does not start with a tar header, so it is not a Qubes backup/);
  });
  /** `archive(name, content)` with its tar header declaring `size` bytes instead. */
  const declaring = (name: string, content: Buffer, size: number) => {
    const a = archive(name, content);
    ustarHeader(name, size).copy(a, 0);
    return a;
  };
  it("refuses a member whose declared size runs past the end of the stream", () => {
    // the .hmac declares 3000 bytes; the stream ends 512 bytes into them
    const s = Buffer.concat([archive("backup-header", HEADER), declaring("backup-header.hmac", HEADER, 3000)]).subarray(0, 10240 + 1024);
    expect(fails(s)).toBe("the backup stream ended after 11264 bytes in backup-header.hmac: the last tar archive is incomplete; it was not stored, run the backup again.");
  });
  it("refuses a backup-header whose declared size takes in its archive's padding: the zeros are not key=value", () => {
    const s = Buffer.concat([declaring("backup-header", HEADER, 2000), archive("backup-header.hmac", HEADER)]);
    expect(fails(s)).toMatch(/^the backup-header is not a Qubes backup header: the line "(\\u0000)+" is not key=value; check that the input is a qvm-backup stream\.$/);
  });
  it("refuses an inner stream that stops early although its archives are whole", () => {
    // drop the last three chunk archives of vm3/private.img (past the record padding): no end blocks
    const text = good.toString("latin1");
    let last = text.lastIndexOf("vm3/private.img.");
    for (let i = 0; i < 2; i++) last = text.lastIndexOf("vm3/private.img.", Math.floor(last / 10240) * 10240);
    const start = Math.floor(last / 10240) * 10240;
    const firstOfNext = text.indexOf("vm5/PaxHeaders");
    const cut = Buffer.concat([good.subarray(0, start), good.subarray(Math.floor(firstOfNext / 10240) * 10240)]);
    expect(fails(cut)).toMatch(/the inner stream of vm3\/private\.img did not reach its end-of-archive blocks/);
  });
  it("stores an inner stream of an unknown format as it is, with a warning", () => {
    const bad = Buffer.from(good);
    let at = -1;
    do at = bad.indexOf("vm3/private.img.000.enc\0", at + 1, "latin1");
    while (at % 512 !== 0);
    bad[at + 512 + 4] = 0x78; // the inner stream's first tar header no longer checks out
    const a = analyze(bad);
    expect(a.files.get("vm3/private.img")!.unknownFormat).toBe(true);
    expect(a.warnings).toContain("the inner stream of vm3/private.img is not a tar archive, so it was stored as it is, without completeness check or per-member deduplication.");
  });
  it("refuses an inner tar stream with junk after its end blocks, naming the file", () => {
    const bad = Buffer.from(good);
    const text = bad.toString("latin1");
    let at = text.lastIndexOf("vm3/private.img.");
    while (at % 512 !== 0) at = text.lastIndexOf("vm3/private.img.", at - 1);
    const size = parseInt(text.slice(at + 124, at + 135), 8);
    bad.fill(0x41, at + 512 + size - 512, at + 512 + size);
    expect(fails(bad)).toMatch(/^the backup stream is malformed after \d+ bytes in vm3\/private\.img\.\d{3}\.enc: the inner stream of vm3\/private\.img (data follows the end of the inner tar archive|a lone zero block inside the inner tar archive);/);
  });
  it("warns once, with the count, when chunks carry no shim MAC trailer", () => {
    const a = analyze(good, 1000, SHIM_TRAILER);
    const chunks = [...good.toString("latin1").matchAll(/\.\d{3}\.enc\0/g)].length / 2; // each name appears in the pax and ustar headers
    expect(a.warnings).toContain(
      `${a.plainChunks} chunks carried no qubes-dedup MAC trailer, so a restore cannot detect tampering with them: check the shim in dom0 with "qubes-dedup-agent doctor".`,
    );
    expect(a.plainChunks).toBeGreaterThan(1);
    expect(a.plainChunks).toBeLessThanOrEqual(chunks);
  });
  describe("a chunk the shim failed on, in a stream whose chunks carry its MAC trailers", () => {
    const broken = (name: string) =>
      `the chunk ${name} carries no valid qubes-dedup MAC trailer although the stream before it does, so the shim failed on it in dom0; the backup was not stored, run it again.`;
    /** A trailered stream (the header pair without one, as hand-made streams have) whose chunk `bad` gets `damage`. */
    const stream = async (bad: string, damage: (trailer: Buffer) => Buffer) => {
      const { makeTrailer, macKey } = await import("@qubes-dedup/protocol/formats");
      const trailer = (p: string, c: Buffer) => {
        const t = makeTrailer(macKey(`20250101T000000-1!${p}!pass`), c);
        return p === bad ? damage(t) : t;
      };
      return fs.readFileSync(makeStream(tmpDir("pipeline"), { qubes: smallSystem(), chunkSize: 8192, backupId: "20250101T000000-1", trailer }));
    };
    const refusal = (bytes: Buffer) => {
      try {
        analyze(bytes, 1000, SHIM_TRAILER);
      } catch (e) {
        expect(e).toBeInstanceOf(IngestError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    it("a sound trailered stream is accepted without warnings (control)", async () => {
      const a = analyze(await stream("", (t) => t), 1000, SHIM_TRAILER);
      expect(a.warnings).toEqual([]);
      expect(a.plainChunks).toBe(0);
    });
    it("refuses a chunk with no trailer, naming it", async () => {
      expect(refusal(await stream("vm3/private.img.002", () => Buffer.alloc(0)))).toBe(broken("vm3/private.img.002.enc"));
    });
    it("refuses a chunk with half a trailer, naming it", async () => {
      expect(refusal(await stream("vm5/private.img.001", (t) => t.subarray(0, 24)))).toBe(broken("vm5/private.img.001.enc"));
    });
    it("refuses a chunk whose trailer names another length, naming it", async () => {
      const wrongLength = (t: Buffer) => {
        const w = Buffer.from(t);
        w.writeBigUInt64BE(w.readBigUInt64BE(8) + 1n, 8);
        return w;
      };
      expect(refusal(await stream("vm3/private.img.000", wrongLength))).toBe(broken("vm3/private.img.000.enc"));
    });
    it("refuses an empty chunk once the header's .hmac carries a trailer", async () => {
      const { makeTrailer, macKey } = await import("@qubes-dedup/protocol/formats");
      const hmac = Buffer.concat([HEADER, makeTrailer(macKey("x"), HEADER)]);
      const s = Buffer.concat([archive("backup-header", HEADER), archive("backup-header.hmac", hmac), archive("qubes.xml.000.enc", Buffer.alloc(0))]);
      expect(refusal(s)).toBe(broken("qubes.xml.000.enc"));
    });
  });
  it("flags compressed and scrypt-encrypted backups", () => {
    const c = analyze(fs.readFileSync(makeStream(tmpDir("pipeline"), { qubes: smallSystem(), compressed: true })));
    expect(c.header!.compressed).toBe(true);
    expect(c.qubes!.filter((q) => q.backupContent)).toHaveLength(2);
    expect(c.warnings.join()).toMatch(/compressed \(gzip\), so it will deduplicate poorly/);
  });
  it("requires every qube's save_on_stop volumes", () => {
    const text = good.toString("latin1");
    const from = Math.floor(text.indexOf("vm5/PaxHeaders") / 10240) * 10240;
    const to = Math.floor(text.indexOf("dom0-home/PaxHeaders") / 10240) * 10240;
    const cut = Buffer.concat([good.subarray(0, from), good.subarray(to)]);
    expect(fails(cut)).toMatch(/vm5\/private\.img of qube vault is missing/);
  });
});
