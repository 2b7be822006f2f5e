import { DumpError } from "../errors.ts";
import type { Engine, EngineSnapshot, StdoutDump } from "../engine/types.ts";
import { dataSnapshotsOf, sideOf } from "../layout/classify.ts";
import { LEDGER_FILE, claimedSequence, ledgerCopiesOf, ledgerCopyTags } from "../layout/ledger-copy.ts";
import { shortSnapshotId } from "../layout/refs.ts";
import { parseSideRecord, readSideRecord, type Op } from "../layout/side-record.ts";
import { SIDE_FILE, newRunId } from "../layout/tags.ts";
import { OuterParser } from "../stream/outer.ts";
import { MAX_HEADER_BYTES } from "../stream/header.ts";

/** Largest ledger copy stored or read back (bytes): ~60 KiB per 90 GB backup, so thousands of backups. */
export const MAX_LEDGER_COPY = 64 << 20;

/**
 * Stores one ledger copy (the bytes dom0 signed, unchanged) as its own
 * snapshot (layout/ledger-copy.ts).
 * @param sequence the sequence the copy claims (a tag: a hint for {@link newestLedgerCopy})
 * @returns the snapshot's id as the engine reported it
 * @throws EngineError
 */
export async function storeLedgerCopy(engine: Engine, copy: Buffer, sequence: number): Promise<string> {
  const b = engine.backupStdin({ filename: LEDGER_FILE, tags: ledgerCopyTags(sequence, newRunId()) });
  b.stdin.end(copy);
  return (await b.done).snapshotId;
}

async function readBounded(d: StdoutDump, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of d.stdout as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      await d.kill();
      throw new DumpError(`${what} is over ${limit} bytes, which no genuine one is; the repository may be damaged, run a check.`);
    }
    parts.push(c);
  }
  await d.done;
  return Buffer.concat(parts);
}

/** A stored ledger copy: its snapshot, the sequence its tag claims, and its bytes. */
export interface StoredLedgerCopy {
  snapshotId: string;
  claimedSequence: number;
  bytes: Buffer;
}

/**
 * The copy whose tag claims the highest sequence, read back; undefined when
 * the repository holds none.
 * @param listing the repository's snapshots, when the caller has them
 * @throws EngineError, DumpError (a copy over {@link MAX_LEDGER_COPY})
 */
export async function newestLedgerCopy(engine: Engine, listing?: EngineSnapshot[]): Promise<StoredLedgerCopy | undefined> {
  const s = ledgerCopiesOf(listing ?? (await engine.snapshots()))[0];
  if (!s) return undefined;
  const bytes = await readBounded(engine.dumpFile(s.id, LEDGER_FILE), MAX_LEDGER_COPY, `the ledger copy in snapshot ${s.id}`);
  return { snapshotId: s.id, claimedSequence: claimedSequence(s)!, bytes };
}

/** A backup's two header files as its stream holds them (backup format v4). */
export interface BackupHeaderFiles {
  /** the data snapshot's short id */
  snapshot: string;
  /** `backup-header` */
  header: Buffer;
  /** `backup-header.hmac` (for this project's backups: the header followed by the shim's MAC trailer) */
  hmac: Buffer;
}

/** The first bytes of the stream a side record rebuilds, up to its first data run: the header files and qubes.xml are there. Pure. */
function streamPrefix(ops: Op[], limit = 1 << 20): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (const op of ops) {
    if (op.kind === "data" || n > limit) break;
    const b = op.kind === "lit" ? op.bytes : Buffer.alloc(Math.min(op.n, limit));
    parts.push(b);
    n += b.length;
  }
  return Buffer.concat(parts);
}

/**
 * `backup-header` and `backup-header.hmac` from the start of a stream (its
 * outer tar framing), or undefined when they are not its first two members.
 * Pure.
 */
export function headerFilesOf(prefix: Buffer): { header: Buffer; hmac: Buffer } | undefined {
  const files = new Map<string, Buffer[]>();
  let current: string | undefined;
  let stop = false;
  const parser = new OuterParser({
    framing() {},
    memberStart(m) {
      current = m.kind.kind === "header" || m.kind.kind === "hmac" ? m.kind.kind : undefined;
      if (!current || m.size > MAX_HEADER_BYTES + 64) stop = true;
      else files.set(current, []);
    },
    memberData(bytes) {
      if (current) files.get(current)!.push(Buffer.from(bytes));
    },
    memberEnd() {
      if (files.has("header") && files.has("hmac") && current === "hmac") stop = true;
      current = undefined;
    },
  });
  try {
    for (let off = 0; off < prefix.length && !stop; off += 512) parser.write(prefix.subarray(off, off + 512));
  } catch {
    return undefined;
  }
  const header = files.get("header");
  const hmac = files.get("hmac");
  return header && hmac ? { header: Buffer.concat(header), hmac: Buffer.concat(hmac) } : undefined;
}

/**
 * Every backup's header files, read from the side records only (a few KiB
 * each, never the data), oldest backup first. Legacy single-file snapshots
 * (no side record) and side records whose stream does not start with the
 * two header files are left out: dom0 could not authenticate them anyway.
 * @throws EngineError, DumpError (an unreadable side record)
 */
export async function backupHeaderFiles(engine: Engine, listing?: EngineSnapshot[]): Promise<BackupHeaderFiles[]> {
  const all = listing ?? (await engine.snapshots());
  const out: BackupHeaderFiles[] = [];
  for (const data of dataSnapshotsOf(all)) {
    const side = sideOf(all, data);
    if (!side) continue;
    const { ops } = parseSideRecord(await readSideRecord(engine.dumpFile(side.id, SIDE_FILE)));
    const files = headerFilesOf(streamPrefix(ops));
    if (files) out.push({ snapshot: shortSnapshotId(engine.kind, data.id), ...files });
  }
  return out;
}
