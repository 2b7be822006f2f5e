/**
 * The backup qube's part of dom0's ledger copies (docs/LEDGER.md): store the
 * signed copy dom0 sends after a backup, and hand a new dom0 what it needs to
 * rebuild its ledger. The backup qube holds no key: it cannot check a copy,
 * and dom0 trusts nothing it says, so this side only moves bytes.
 */
import { MAX_LEDGER_COPY, backupHeaderFiles, newestLedgerCopy, storeLedgerCopy as storeCopy } from "@qubes-dedup/pipeline";
import { LedgerCopyError, formatFetchLine, parseLedgerCopyEnvelope } from "@qubes-dedup/protocol";
import type { Database } from "@qubes-dedup/db";
import { ServiceError } from "./errors.ts";
import { engineFor, getRepository } from "./repositories.ts";

/** Reads a whole stream, refusing more than `limit` bytes. @throws ServiceError over the limit */
async function readAll(input: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of input as AsyncIterable<Buffer | string>) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
    n += b.length;
    if (n > limit) throw new ServiceError(`the ledger copy is over ${limit} bytes, which no genuine one is; nothing was stored.`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/**
 * Stores the ledger copy read from `input` in the repository, unchanged, as
 * its own snapshot (never listed as a backup).
 * @returns the copy's snapshot id and the sequence it claims
 * @throws ServiceError (not a copy, too large, unknown repository), EngineError
 */
export async function storeLedgerCopy(db: Database, opts: { repository: string; input: NodeJS.ReadableStream }): Promise<{ snapshotId: string; sequence: number }> {
  const repo = await getRepository(db, opts.repository);
  const bytes = await readAll(opts.input, MAX_LEDGER_COPY);
  let sequence: number;
  try {
    sequence = parseLedgerCopyEnvelope(bytes).sequence;
  } catch (e) {
    if (e instanceof LedgerCopyError) throw new ServiceError(`${e.message.replace(/\.$/, "")}; nothing was stored.`);
    throw e;
  }
  return { snapshotId: await storeCopy(engineFor(repo), bytes, sequence), sequence };
}

/**
 * Writes to `output` what a new dom0 needs to rebuild its ledger, in the
 * lines of `parseFetchOutput` (@qubes-dedup/protocol): every backup's header
 * files (from the side records), then the copy with the highest sequence,
 * then the end line.
 * @returns how many backups and copies were sent
 * @throws ServiceError, EngineError, DumpError
 */
export async function fetchLedgerMaterial(db: Database, opts: { repository: string; output: NodeJS.WritableStream }): Promise<{ backups: number; copy: boolean }> {
  const repo = await getRepository(db, opts.repository);
  const engine = engineFor(repo);
  const all = await engine.snapshots();
  const headers = await backupHeaderFiles(engine, all);
  const copy = await newestLedgerCopy(engine, all);
  const lines = headers.map((h) => formatFetchLine({ backup: { snapshot: h.snapshot, header: h.header.toString("base64"), hmac: h.hmac.toString("base64") } }));
  if (copy) lines.push(formatFetchLine({ copy: { snapshot: copy.snapshotId, bytes: copy.bytes.toString("base64") } }));
  lines.push(formatFetchLine({ end: true }));
  for (const l of lines) opts.output.write(l);
  return { backups: headers.length, copy: copy !== undefined };
}
