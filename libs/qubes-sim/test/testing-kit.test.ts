import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { askConfirmation } from "../src/index.ts";
import { answerTheWaitingCall, qubeVolumeHashes, sha256File, tmpDir, unansweredCalls, volumeHashes } from "../src/testing/index.ts";

describe("test kit", () => {
  it("hashes volumes by qube/file, and one qube's by file name; a root without volumes gives {}", () => {
    const root = tmpDir("kit");
    fs.mkdirSync(path.join(root, "volumes", "work"), { recursive: true });
    fs.writeFileSync(path.join(root, "volumes", "work", "private.img"), Buffer.alloc(3 << 20, 7));
    fs.writeFileSync(path.join(root, "volumes", "work", "firewall.xml"), "<firewall/>\n");
    const sha = sha256File(path.join(root, "volumes", "work", "private.img"));
    // 3 MiB spans several of sha256File's 1 MiB reads; compare with a one-shot hash.
    expect(sha).toBe(createHash("sha256").update(Buffer.alloc(3 << 20, 7)).digest("hex"));
    expect(qubeVolumeHashes(root, "work")).toEqual({ "firewall.xml": sha256File(path.join(root, "volumes", "work", "firewall.xml")), "private.img": sha });
    expect(Object.keys(volumeHashes(root))).toEqual(["work/firewall.xml", "work/private.img"]);
    expect(volumeHashes(tmpDir("kit"))).toEqual({});
  });

  it("lists only unanswered calls and answers exactly one", async () => {
    const root = tmpDir("kit");
    expect(() => answerTheWaitingCall(root, "allow")).toThrow(/found 0/);
    const verdict = askConfirmation(root, { service: "qubes.DedupRestore", argument: "", source: "backup", target: "dom0" }, 10);
    await expect.poll(() => unansweredCalls(root).length).toBe(1);
    answerTheWaitingCall(root, "allow");
    expect(unansweredCalls(root)).toEqual([]);
    expect(await verdict).toBe("allow");
  });
});
