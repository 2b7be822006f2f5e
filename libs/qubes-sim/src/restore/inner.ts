/**
 * Reassembly of decrypted chunks into each file's inner tar stream and its
 * extraction with GNU tar, like qvm-backup-restore's extraction worker:
 * chunk `.000` starts a new file, later chunks must follow in order.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import { SimError } from "../errors.ts";
import { SparseFileWriter } from "./sparse-writer.ts";

/** Where one inner file's content goes. */
export type InnerTarget =
  /** `tar -xO <name>` into a file, written sparse (zero blocks skipped). */
  | { kind: "file"; member: string; dest: string }
  /** `tar -x` into a directory (dom0 home). */
  | { kind: "dir"; dest: string }
  /** `tar -t`: checked, nothing written (verify-only and unknown files). */
  | { kind: "check" };

interface Current {
  base: string;
  index: number;
  tar: ChildProcess;
  sink: Promise<void>;
  stderr: string[];
}

/** Feeds chunks to one GNU tar process per inner file. */
export class InnerExtractor {
  private cur: Current | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    /** Decompression program (`--use-compress-program`), or undefined. */
    private readonly filter: string | undefined,
    private readonly targetOf: (base: string) => InnerTarget,
  ) {}

  private start(base: string): Current {
    const t = this.targetOf(base);
    const args = t.kind === "file" ? ["-xO", t.member] : t.kind === "dir" ? ["-x", "-C", t.dest] : ["-t"];
    if (this.filter) args.unshift(`--use-compress-program=${this.filter}`);
    const tar = spawn("tar", args, { env: this.env, stdio: ["pipe", t.kind === "file" ? "pipe" : "ignore", "pipe"] });
    const stderr: string[] = [];
    tar.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
    tar.stdin!.on("error", () => {});
    const sink = t.kind === "file" ? pipeline(tar.stdout!, new SparseFileWriter(t.dest)) : Promise.resolve();
    sink.catch(() => {});
    return { base, index: 0, tar, sink, stderr };
  }

  /**
   * Adds a decrypted chunk (path `…/<base>.NNN`, archive name `name`).
   * @throws SimError when a chunk is out of order or tar failed.
   */
  async add(name: string, file: string): Promise<void> {
    const m = /^(.*)\.(\d{3})$/.exec(name);
    if (!m) throw new SimError(`Unexpected file ${name} in the backup; the backup is damaged.`);
    const base = m[1]!;
    const index = Number(m[2]);
    if (index === 0) {
      await this.finish();
      this.cur = this.start(base);
    } else if (!this.cur || this.cur.base !== base || this.cur.index + 1 !== index) {
      const expected = this.cur ? `${this.cur.base}.${String(this.cur.index + 1).padStart(3, "0")}` : `${base}.000`;
      throw new SimError(`Unexpected file in the backup: ${name}, expected ${expected}; the backup is damaged or was tampered with.`);
    }
    const cur = this.cur!;
    cur.index = index;
    const input = fs.createReadStream(file);
    input.pipe(cur.tar.stdin!, { end: false });
    await Promise.race([once(input, "end"), once(cur.tar, "close")]);
    input.destroy();
    if (cur.tar.exitCode !== null) await this.finish();
  }

  /**
   * Ends the current file and waits for its tar.
   * @throws SimError naming the file when tar failed or the data did not fit.
   */
  async finish(): Promise<void> {
    const cur = this.cur;
    if (!cur) return;
    this.cur = undefined;
    cur.tar.stdin!.end();
    const code = cur.tar.exitCode ?? (await once(cur.tar, "close"))[0];
    try {
      await cur.sink;
    } catch (e) {
      throw new SimError(`Writing the restored ${cur.base} failed (${(e as Error).message}); check the free space.`);
    }
    if (code !== 0) {
      throw new SimError(`Extracting ${cur.base} from the backup failed (tar: ${cur.stderr.join("").trim() || `exit ${code}`}); the backup is damaged.`);
    }
  }

  /** Stops a running tar after an error elsewhere. */
  abort(): void {
    this.cur?.tar.kill("SIGTERM");
    this.cur = undefined;
  }
}
