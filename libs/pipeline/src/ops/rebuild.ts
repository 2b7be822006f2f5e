import { DumpError } from "../errors.ts";
import type { StdoutDump } from "../engine/types.ts";
import type { Op, SidePart, SideSection } from "../layout/side-record.ts";
import { DATA_FILE } from "../layout/tags.ts";
import type { Out } from "./dump-output.ts";

/** A block of zeros, written for the side record's zero runs. */
const ZEROS = Buffer.alloc(65536);

/**
 * Parts started ahead of the one being read: a qube's data (tens of MiB)
 * often streams in less time than an engine's start-up (restic ~0.6 s CPU),
 * so one ahead leaves gaps; each waiting engine holds only its pipe's 1 MiB.
 */
const PARTS_AHEAD = 2;

export type Open = (snapshotId: string, filename: string) => StdoutDump;
export type Data = { dump: StdoutDump; data: AsyncIterator<Buffer> };

/** Starts dumping a snapshot's data file, held back until read. */
export function startData(open: Open, id: string): Data {
  const dump = open(id, DATA_FILE);
  return { dump, data: heldBack(dump.stdout as AsyncIterable<Buffer>) };
}

/**
 * Opens a run's data parts as the rebuild reaches them, each once, and the
 * next needed one at the same time (its engine's start-up then overlaps this
 * part's reading; its pipe holds it back). Parts not needed (undefined ids)
 * are never started.
 */
export class PartReader {
  private readonly opened: (Data | undefined)[] = [];

  constructor(private readonly open: Open, private readonly ids: (string | undefined)[], early: Data | undefined) {
    if (early && ids[0] !== undefined) this.opened[0] = early;
    else void early?.dump.kill();
  }

  /** The data of part `i`, started now if it was not; starts the next PARTS_AHEAD needed parts too. */
  get(i: number): Data {
    const d = this.start(i)!;
    const next = this.ids.map((id, k) => (k > i && id !== undefined ? k : -1)).filter((k) => k >= 0);
    for (const k of next.slice(0, PARTS_AHEAD)) this.start(k);
    return d;
  }

  private start(i: number): Data | undefined {
    if (!this.opened[i] && this.ids[i] !== undefined) this.opened[i] = startData(this.open, this.ids[i]!);
    return this.opened[i];
  }

  /** Waits for every started part's engine to exit well. */
  async done(): Promise<void> {
    await Promise.all(this.opened.map((d) => d?.dump.done));
  }

  kill(): void {
    for (const d of this.opened) void d?.dump.kill();
  }

  /** Bytes the started parts' engines wrote (read from the repository), read by us or not. */
  bytesRead(): number {
    return this.opened.reduce((a, d) => a + (d?.dump.bytesOut?.() ?? 0), 0);
  }
}

/**
 * Starts reading at once, so that the stream is in reading mode and nothing
 * is discarded as unread output; the pipe then holds the engine back until
 * the first chunk is asked for.
 */
function heldBack(stream: AsyncIterable<Buffer>): AsyncIterator<Buffer> {
  const it = stream[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<Buffer>> | undefined = it.next();
  first.catch(() => {});
  return {
    next() {
      const f = first;
      first = undefined;
      return f ?? it.next();
    },
  };
}

/**
 * Interleaves side-record literals and zero runs with the data parts, in
 * order, section by section; with `only`, the header section (dir null) and
 * the sections of those directories only.
 */
export async function rebuild(ops: Op[], layout: { sections: SideSection[]; parts: SidePart[] }, only: Set<string> | undefined, src: { parts: PartReader; beforeData: () => Promise<void> }, out: Out): Promise<void> {
  let pos = 0;
  for (const [si, sec] of layout.sections.entries()) {
    const from = pos;
    pos += sec.ops;
    if (only && sec.dir !== null && !only.has(sec.dir)) continue;
    const pi = layout.parts.findIndex((x) => x.section === si);
    await rebuildSection(ops.slice(from, pos), pi < 0 ? undefined : async () => (await src.beforeData(), src.parts.get(pi)), out);
  }
}

async function rebuildSection(ops: Op[], data: (() => Promise<Data>) | undefined, out: Out): Promise<void> {
  let left: Buffer = Buffer.alloc(0);
  let d: Data | undefined;
  const short = () => new DumpError("the data file of the snapshot is shorter than its side record says; the repository may be damaged, run a check.");
  for (const op of ops) {
    if (op.kind === "lit") await out.write(op.bytes);
    else if (op.kind === "zero") for (let n = op.n; n > 0; n -= ZEROS.length) await out.write(ZEROS.subarray(0, Math.min(n, ZEROS.length)));
    else {
      if (!data) throw short();
      d ??= await data();
      let n = op.n;
      while (n > 0) {
        if (left.length === 0) {
          const r = await d.data.next();
          if (r.done) await d.dump.done;
          if (r.done) throw short();
          left = r.value;
        }
        const take = left.subarray(0, Math.min(n, left.length));
        left = left.subarray(take.length);
        n -= take.length;
        await out.write(take);
      }
    }
  }
  if (d && (left.length > 0 || !(await d.data.next()).done)) throw new DumpError("the data file of the snapshot is longer than its side record says; the repository may be damaged, run a check.");
  await d?.dump.done;
}
