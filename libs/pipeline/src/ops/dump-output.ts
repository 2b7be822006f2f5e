import { createHash } from "node:crypto";
import { once } from "node:events";
import { DumpError } from "../errors.ts";

/** The output's reader went away: a normal end of a dump. */
export class Gone extends Error {}

/** Error codes of an output whose reader went away: a normal end of a dump. */
const READER_GONE = new Set(["EPIPE", "ERR_STREAM_DESTROYED", "ECONNRESET"]);

/**
 * Writes to the output with back-pressure; throws Gone once the reader left,
 * DumpError when the output itself fails (ENOSPC, EIO, …).
 */
export class Out {
  gone = false;
  failure: NodeJS.ErrnoException | undefined;
  /** bytes handed to the output */
  bytes = 0;
  /** bytes the output confirmed */
  written = 0;
  readonly hash = createHash("sha256");
  private readonly onError = (e: NodeJS.ErrnoException) => {
    if (READER_GONE.has(e?.code ?? "")) this.mark();
    else if (!this.gone) ((this.failure ??= e), this.onGone());
  };
  private readonly mark = () => {
    if (this.failure || this.gone) return;
    this.gone = true;
    this.onGone();
  };
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly onGone: () => void,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    out.on("error", this.onError);
    out.on("close", this.mark);
  }
  /** Stops watching the output (the caller may reuse it). */
  release(): void {
    this.out.removeListener("error", this.onError);
    this.out.removeListener("close", this.mark);
  }
  /** The failure of the output as one sentence, if it failed. */
  failed(): DumpError | undefined {
    if (!this.failure) return undefined;
    const code = this.failure.code ?? this.failure.message;
    return new DumpError(`writing the stream failed after ${this.written} bytes (${code}): the output is incomplete; free space on it or write elsewhere, then dump again.`);
  }
  /** Waits until the output confirmed every byte (or failed, or its reader left). */
  async flush(): Promise<void> {
    if (this.written === this.bytes || this.gone || this.failure) return;
    await new Promise<void>((res) => this.out.write(Buffer.alloc(0), () => res()));
    if (this.failure) throw this.failed();
  }
  async write(b: Uint8Array): Promise<void> {
    const w = this.out as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
    if (this.failure) throw this.failed();
    if (this.gone || w.destroyed || w.writableEnded) throw new Gone();
    this.hash.update(b);
    this.bytes += b.length;
    this.onProgress?.(this.bytes);
    const ok = this.out.write(b, (e?: Error | null) => {
      if (!e) this.written += b.length;
    });
    if (!ok) await drainOrGone(this.out);
  }
}

/** Waits until `out` drains, closes or fails, leaving no listener behind. */
async function drainOrGone(out: NodeJS.WritableStream): Promise<void> {
  const ac = new AbortController();
  const wait = (event: string) => once(out as NodeJS.EventEmitter, event, { signal: ac.signal }).catch(() => {});
  await Promise.race([wait("drain"), wait("close"), wait("error")]);
  ac.abort();
}
