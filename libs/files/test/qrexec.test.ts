import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeExt4Image } from "@qubes-dedup/qubes-sim";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { BwrapTransport, QrexecTransport, VolumeBrowser } from "../src/index.ts";

// The Qubes side: a stand-in for qrexec-client-vm runs the packaged service
// script (what the disposable qube runs) directly. Both transports must
// give the same answers: they are one interface.
const SERVICE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../packaging/template/qubes-rpc/qubes-dedup.ReadFilesystem");
let dir: string;
let image: string;
let client: string;
const data = Buffer.from("from the disposable qube\n".repeat(500));

beforeAll(() => {
  dir = tmpDir("qrexec-files");
  const t = path.join(dir, "tree");
  fs.mkdirSync(path.join(t, "Documents"), { recursive: true });
  fs.writeFileSync(path.join(t, "Documents/a.txt"), data);
  fs.writeFileSync(path.join(t, "Documents/odd\nname"), "x");
  // sibling directories, so a search lists several in one batch
  fs.mkdirSync(path.join(t, "Music/deep"), { recursive: true });
  fs.writeFileSync(path.join(t, "Music/deep/Name.ogg"), "x");
  fs.mkdirSync(path.join(t, "Pictures"));
  fs.mkdirSync(path.join(dir, "v"));
  image = path.join(dir, "v", "volume.img");
  writeExt4Image(image, 8 << 20, t, { partitioned: true });
  client = path.join(dir, "qrexec-client-vm");
  fs.writeFileSync(client, `#!/bin/sh\n[ "$1" = @dispvm ] && [ "$2" = qubes-dedup.ReadFilesystem ] || exit 126\nexec "${SERVICE}"\n`, { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the qrexec transport and its service script", () => {
  it("list, read and refuse exactly as the bubblewrap sandbox does", async () => {
    const viaQrexec = new VolumeBrowser(new QrexecTransport(client), image, 3 << 20);
    const viaBwrap = new VolumeBrowser(new BwrapTransport(), image, 3 << 20);
    expect(await viaQrexec.list("/Documents")).toEqual(await viaBwrap.list("/Documents"));
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on("data", (c: Buffer) => parts.push(c));
    expect(await viaQrexec.download("/Documents/a.txt", out)).toEqual({ kind: "file", bytes: data.length, name: "a.txt" });
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    const found = await viaQrexec.search("NAME");
    expect(found).toEqual(await viaBwrap.search("NAME"));
    expect(found.hits.map((h) => h.displayPath).sort()).toEqual(["/Documents/odd\\nname", "/Music/deep/Name.ogg"]);
    expect(found.complete).toBe(true);
    await expect(viaQrexec.list("/nope")).rejects.toThrow("/nope does not exist in this snapshot; list its parent directory to see what is there.");
  }, 60_000);
});
