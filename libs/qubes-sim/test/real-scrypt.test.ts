import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem, qubesdEnvironment, runBackup } from "../src/index.ts";
import { runRestore } from "../src/restore/restore.ts";
import { fakeEnv, HERE, PASS } from "./helpers.ts";
import { sha256File, tmpDir } from "../src/testing/index.ts";

// The one test with Debian's real scrypt (~5 s per call): 3 enc + 3 dec.
// The backup runs as qubesd does, on a system with qubesd's unit file and no
// drop-in: its scrypt is the real one although the caller's PATH has the test
// stand-in first (issue 17), and the product's parser says so.
describe("real scrypt", () => {
  it("a backup made with the real scrypt (qubesd without the drop-in) restores through the simulator", { timeout: 240_000 }, async () => {
    const dir = tmpDir("real");
    const root = path.join(dir, "root");
    createSystem(root, { seed: "real", qubes: [
      { name: "tpl", klass: "TemplateVM", privateSize: 4096, rootSize: 4096 },
      { name: "vault", klass: "AppVM", template: "tpl", privateSize: 64 * 1024 },
    ], qubesd: true });
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const env = { ...process.env, PATH: `/usr/bin:${process.env.PATH}` };
    const b = await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(), qubesdEnv: qubesdEnvironment(root), qubes: ["vault"] });
    expect(b.files).toEqual(["backup-header", "backup-header.hmac", "qubes.xml.000.enc", "vm2/private.img.000.enc"]);
    const stream = path.join(out, fs.readdirSync(out)[0]!);
    // Real scrypt output starts with "scrypt" and version byte 0.
    const data = fs.readFileSync(stream);
    const at = data.indexOf(Buffer.from("vm2/private.img.000.enc\0"));
    expect(data.subarray(at + 512, at + 519).equals(Buffer.from("scrypt\0", "binary"))).toBe(true);
    // ingest's parser (imported by path: see ingest-view.test.ts) warns that the shim was not used.
    const p = (await import(path.join(HERE, "../../pipeline/src/index.ts"))) as { BackupStreamParser: new () => { write(b: Uint8Array): void; end(): void; warnings: string[] } };
    const a = new p.BackupStreamParser();
    a.write(data);
    a.end();
    expect(a.warnings).toContainEqual(expect.stringMatching(/^chunks are scrypt-encrypted \(the dedup shim was not used\)/));
    const target = path.join(dir, "fresh");
    await runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env });
    expect(sha256File(path.join(target, "volumes/vault/private.img"))).toBe(sha256File(path.join(root, "volumes/vault/private.img")));
  });
});
