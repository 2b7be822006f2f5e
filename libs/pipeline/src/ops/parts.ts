import { once } from "node:events";
import { EngineError } from "../errors.ts";
import type { Engine, StdinBackup } from "../engine/types.ts";
import { DATA_FILE, DATA_TAG, PROJECT_TAG, partTag } from "../layout/tags.ts";

/**
 * Bytes queued for an engine before reading waits for it (back-pressure):
 * enough that the engine never starves while this process reads and hashes.
 */
const ENGINE_BUFFER = 8 << 20;

/** A stored data part: the engine's id, the section it holds, its bytes and what it added to the repository. */
export interface StoredPart { snapshotId: string; section: number; dataBytes: number; addedBytes: number }

interface Running { section: number; index: number; backup: StdinBackup; dataBytes: number }

/** Options of {@link PartWriter}. */
export interface PartWriterOptions {
  runTag: string;
  hostname?: string;
  backendTimeoutSeconds?: number;
  /**
   * whether another section with data is likely to follow the current one
   * (from qubes.xml's backup-size of the qubes not yet seen): restic then
   * starts the next part's engine at once, so that its start-up (key
   * derivation, index load: ~0.6 s CPU) overlaps this part's data
   */
  moreExpected: () => boolean;
}

/**
 * Writes each section's data to a data snapshot of its own (layout/side-record.ts,
 * format 2): part 0 tagged `qd-data` (the run's snapshot, as in format 1),
 * part k `qd-part:<k>`, all with the run tag. One engine start per part:
 * restic allows concurrent backups, so the next part's engine is started
 * while the current one still runs (and interrupted when no part follows);
 * borg's repository lock is exclusive, so its parts run one after the other.
 */
export class PartWriter {
  private cur: Running | undefined;
  private spare: { index: number; backup: StdinBackup } | undefined;
  private readonly parts: Running[] = [];
  private failure: unknown;

  constructor(private readonly engine: Engine, private readonly opts: PartWriterOptions) {}

  /** The first engine failure of any part, once one failed. */
  failed(): unknown {
    return this.failure;
  }

  /** Every engine process started (for abandoning the run). */
  backups(): StdinBackup[] {
    return [...this.parts.map((p) => p.backup), ...(this.spare ? [this.spare.backup] : [])];
  }

  /** Writes data of `section` (sections arrive in order), with back-pressure. */
  async write(bytes: Uint8Array, section: number): Promise<void> {
    if (this.cur?.section !== section) await this.next(section);
    const p = this.cur!;
    p.backup.stdin.write(bytes);
    p.dataBytes += bytes.length;
    if (p.backup.stdin.writableLength > ENGINE_BUFFER) await drainOrExit(p.backup);
  }

  private start(index: number): StdinBackup {
    const tags = [PROJECT_TAG, this.opts.runTag, index === 0 ? DATA_TAG : partTag(index)];
    const b = this.engine.backupStdin({ filename: DATA_FILE, tags, hostname: this.opts.hostname, backendTimeoutSeconds: this.opts.backendTimeoutSeconds });
    b.done.catch((e) => (this.failure ??= e));
    return b;
  }

  private async next(section: number): Promise<void> {
    await this.close();
    const index = this.parts.length;
    const backup = this.spare?.index === index ? this.spare.backup : this.start(index);
    this.spare = undefined;
    this.cur = { section, index, backup, dataBytes: 0 };
    this.parts.push(this.cur);
    if (this.engine.kind === "restic" && this.opts.moreExpected()) this.spare = { index: index + 1, backup: this.start(index + 1) };
  }

  /** Ends the current part's input; borg's next part waits for its commit (its lock is exclusive). */
  private async close(): Promise<void> {
    const p = this.cur;
    if (!p) return;
    this.cur = undefined;
    p.backup.stdin.end();
    if (this.engine.kind === "borg") await p.backup.done;
  }

  /**
   * Ends the last part, stops an unused spare engine, and waits for every part.
   * @returns the stored parts in stream order (none when the stream held no data)
   * @throws EngineError of the first part that failed
   */
  async finish(): Promise<StoredPart[]> {
    await this.close();
    const spare = this.spare;
    this.spare = undefined;
    const [stored] = await Promise.all([Promise.all(this.parts.map((p) => p.backup.done)), spare?.backup.interrupt()]);
    return stored.map((s, i) => ({ snapshotId: s.snapshotId, addedBytes: s.addedBytes, section: this.parts[i]!.section, dataBytes: this.parts[i]!.dataBytes }));
  }
}

async function drainOrExit(backup: StdinBackup): Promise<void> {
  const exited = backup.done.then(
    () => { throw new EngineError("the engine finished before the stream ended; check the repository and try again."); },
    (e) => { throw e; },
  );
  await Promise.race([once(backup.stdin, "drain"), exited]);
}
