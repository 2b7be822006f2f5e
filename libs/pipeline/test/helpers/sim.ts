// Streams from the real dom0 simulator (qvm-backup through the shim, with MAC
// trailers), each made in a process of its own so that, as with qubesd, the
// PID in the inner tar names and the backup-id differs on every run.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { QubeSpec } from "@qubes-dedup/qubes-sim";
import { engineBinary, openEngine, type Engine, type EngineKind } from "../../src/index.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

const TOOL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/sim-tool.ts");
const MiB = 1 << 20;

async function tool<T>(args: string[]): Promise<T> {
  const r = await execa("node", ["--import", "tsx", TOOL, ...args]);
  return JSON.parse(r.stdout) as T;
}

export interface SimStream { file: string; bytes: number; sha256: string; root: string }

/** A template (24 MiB root, 4 MiB private) and an AppVM (16 MiB private, firewall.xml), plus dom0 home. */
export const SIM_QUBES: QubeSpec[] = [
  { name: "tpl", klass: "TemplateVM", privateSize: 4 * MiB, rootSize: 24 * MiB },
  { name: "work", klass: "AppVM", template: "tpl", privateSize: 16 * MiB, firewall: true },
];

/** One qvm-backup run of the system at `root` (created from `seed` when absent). */
export function simStream(dir: string, o: { seed: string; root?: string; qubes?: QubeSpec[]; chunkSize?: number }): Promise<SimStream> {
  const args = ["stream", "--dir", dir, "--seed", o.seed, "--chunk-size", String(o.chunkSize ?? 4 * MiB)];
  if (o.root) args.push("--root", o.root);
  else args.push("--qubes", JSON.stringify(o.qubes ?? SIM_QUBES));
  return tool(args);
}

/** Rewrites `fraction` of every volume in `extent`-byte extents; returns the bytes changed. */
export function simMutate(root: string, fraction: number, extent: number, seed: string): Promise<{ changedBytes: number }> {
  return tool(["mutate", "--root", root, "--fraction", String(fraction), "--extent", String(extent), "--seed", seed]);
}

/** Writes the volumes' allocated data, no framing (the engine's best case), to `out`. */
export function simFloor(root: string, out: string): Promise<{ bytes: number }> {
  return tool(["floor", "--root", root, "--out", out]);
}

/**
 * Two fresh repositories whose chunkers cut at the same places (restic:
 * `init --copy-chunker-params`; borg: unencrypted, where the chunker seed is
 * 0), so that growth in one can be compared with growth in the other.
 */
export async function twinRepos(kind: EngineKind): Promise<[Engine, Engine]> {
  const dir = tmpDir(`twin-${kind}`);
  const passwordFile = path.join(dir, "password");
  fs.writeFileSync(passwordFile, "test-password\n");
  const [a, b] = ["a", "b"].map((n) => openEngine({ engine: kind, location: path.join(dir, n), passwordFile })) as [Engine, Engine];
  const env = { BORG_PASSPHRASE: "test-password" };
  if (kind === "restic") {
    await a.init();
    await execa(engineBinary("restic"), ["init", "-r", b.repo.location, "--password-file", passwordFile, "--from-repo", a.repo.location, "--from-password-file", passwordFile, "--copy-chunker-params"]);
  } else {
    for (const e of [a, b]) await execa(engineBinary("borg"), ["init", "-e", "none", e.repo.location], { env });
  }
  return [a, b];
}

/** A writable that keeps only the SHA-256 and length of what it receives. */
export class HashSink extends Writable {
  private readonly h = crypto.createHash("sha256");
  bytes = 0;
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.h.update(c);
    this.bytes += c.length;
    cb();
  }
  digest(): string {
    return this.h.digest("hex");
  }
}

/** Stores a file as it is in a snapshot; returns the engine's bytes-added figure. */
export async function backupFile(engine: Engine, file: string, tag: string): Promise<number> {
  const b = engine.backupStdin({ filename: "floor.bin", tags: [tag] });
  fs.createReadStream(file).pipe(b.stdin);
  return (await b.done).addedBytes;
}
