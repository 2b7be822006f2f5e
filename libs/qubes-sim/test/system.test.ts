import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem, domainName, loadQubesXml, mutateVolume, parseQubesXml, serializeQubesXml } from "../src/index.ts";
import { HERE, allocated, smallSystem } from "./helpers.ts";
import { sha256File, tmpDir } from "../src/testing/index.ts";

describe("createSystem", () => {
  it("writes qubes.xml, sparse images, firewall and dom0 home, deterministic from the seed", () => {
    const a = smallSystem("same");
    const b = smallSystem("same");
    const c = smallSystem("other");
    const img = "volumes/fedora-41/root.img";
    expect(sha256File(path.join(a, img))).toBe(sha256File(path.join(b, img)));
    expect(sha256File(path.join(a, img))).not.toBe(sha256File(path.join(c, img)));
    expect(fs.statSync(path.join(a, img)).size).toBe(1024 * 1024);
    expect(allocated(path.join(a, img))).toBeLessThan(1024 * 1024);
    expect(fs.existsSync(path.join(a, "firewall/work/firewall.xml"))).toBe(true);
    expect(fs.existsSync(path.join(a, "volumes/work/root.img"))).toBe(false);
    expect(fs.existsSync(path.join(a, "home/user/.bashrc"))).toBe(true);
    const store = loadQubesXml(a);
    // qubesd writes domains in name order (issue 17).
    expect(store.domains.map(domainName)).toEqual(["dom0", "fedora-41", "personal", "work"]);
    const work = store.domains.find((d) => domainName(d) === "work")!;
    expect(work.klass).toBe("AppVM");
    expect(work.volumes.find((v) => v.name === "private")).toMatchObject({ save_on_stop: "True", size: String(512 * 1024), pool: "lvm" });
    // Every volume attribute is explicit, as qubesd's Volume.config writes it (issue 17).
    expect(work.volumes.find((v) => v.name === "root")!.save_on_stop).toBe("False");
  });

  it("refuses a non-empty root and a missing template", () => {
    const root = smallSystem();
    expect(() => createSystem(root)).toThrow(/is not empty; choose a new directory/);
    expect(() => createSystem(path.join(tmpDir(), "r"), { qubes: [{ name: "a", klass: "AppVM", template: "nope", privateSize: 4096 }] })).toThrow(
      'AppVM "a" names template "nope", which is not a TemplateVM of this system; add it or fix the name.',
    );
  });

  it("mutateVolume rewrites 4 KiB-aligned extents and keeps the size", () => {
    const root = smallSystem();
    const img = path.join(root, "volumes/work/private.img");
    const before = fs.readFileSync(img);
    const r = mutateVolume(img, { fraction: 0.1, extent: 8192, seed: "m" });
    const after = fs.readFileSync(img);
    expect(after.length).toBe(before.length);
    expect(r.offsets.every((o) => o % 4096 === 0)).toBe(true);
    for (let off = 0; off < after.length; off += 4096) {
      const changed = !after.subarray(off, off + 4096).equals(before.subarray(off, off + 4096));
      if (changed) expect(r.offsets.some((o) => off >= o && off < o + 8192)).toBe(true);
    }
    expect(r.extents).toBeGreaterThan(0);
  });
});

describe("qubes.xml model", () => {
  it("parses the Qubes fixture and survives a serialize/parse round trip", () => {
    const q = parseQubesXml(fs.readFileSync(path.join(HERE, "fixtures/v4-qubes.xml"), "utf8"));
    expect(q.domains).toHaveLength(20);
    const d8 = q.domains.find((d) => domainName(d) === "test-d8test")!;
    expect(Object.fromEntries(d8.features)).toMatchObject({ "backup-content": "True", "backup-path": "appvms/test-d8test", "backup-size": "20971520" });
    const byName = (a: { properties: [string, string][] }, b: { properties: [string, string][] }) => {
      const [x, y] = [domainName(a as never), domainName(b as never)];
      return x < y ? -1 : x > y ? 1 : 0;
    };
    expect(parseQubesXml(serializeQubesXml(q))).toEqual({ ...q, domains: [...q.domains].sort(byName) });
  });
});
