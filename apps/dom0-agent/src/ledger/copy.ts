/**
 * The repository's copy of dom0's ledger (docs/LEDGER.md), dom0's side:
 * the body that is signed (every record plus the time of writing), and the
 * judgement of a rebuild on a new dom0: a copy whose signature does not
 * verify with the recovery code is forged; one whose sequence is below what
 * this dom0 last wrote or saw, or that misses a backup the repository holds
 * (genuine: its backup-header.hmac verifies with the recovery code) made
 * after the copy's newest record, is rolled back. Pure; the signature
 * format is @qubes-dedup/protocol's ledger-copy.ts.
 */
import { TrailerVerifier, macKey, passphraseLine } from "@qubes-dedup/protocol/formats";
import { LedgerCopyError, formatLedgerCopy, ledgerCopyKey, verifyLedgerCopy } from "@qubes-dedup/protocol";
import { z } from "zod";
import { RecordSchema, type LedgerRecord } from "./record.ts";

const Body = z.object({ written: z.string(), records: z.array(RecordSchema) }).strict();

/** Raised when a rebuild must not use the copy; the message is one sentence. */
export class RebuildRefusal extends Error {
  override name = "RebuildRefusal";
}

/** The signed copy of `records` with `sequence`, written at `written`. Pure. */
export function ledgerCopy(passphrase: string, sequence: number, records: LedgerRecord[], written: Date): Buffer {
  return formatLedgerCopy(ledgerCopyKey(passphrase), sequence, JSON.stringify({ written: written.toISOString(), records }));
}

/** A copy that verified: its sequence, the time it was written and its records. */
export interface VerifiedCopy {
  sequence: number;
  written: string;
  records: LedgerRecord[];
}

/**
 * The backup-id in a backup's header files when `hmac` authenticates
 * `header` with the recovery code (the shim's header trailer: `hmac` is the
 * header followed by its MAC trailer, keyed from `backup-header!<pass>`),
 * else undefined (forged, or a backup not made through the shim). Pure.
 */
export function genuineBackupId(passphrase: string, header: Buffer, hmac: Buffer): string | undefined {
  if (hmac.length !== header.length + 48 || !hmac.subarray(0, header.length).equals(header)) return undefined;
  const v = new TrailerVerifier(macKey(passphraseLine(passphrase)));
  v.update(hmac);
  try {
    v.final();
  } catch {
    return undefined;
  }
  return /^backup-id=([0-9]{8}T[0-9]{6}-[0-9]{1,10})$/m.exec(header.toString("latin1"))?.[1];
}

/** What the backup qube answered for a rebuild (parseFetchOutput). */
export interface RebuildMaterial {
  backups: { snapshot: string; header: Buffer; hmac: Buffer }[];
  copy?: { snapshot: string; bytes: Buffer };
}

const stamp = (id: string) => id.slice(0, 15);

/**
 * Judges the repository's copy for a rebuild. Pure.
 * @param lastSeen the highest sequence this dom0 wrote or saw (0: none, a new dom0)
 * @returns the verified copy and the genuine backup-ids the repository holds
 * @throws RebuildRefusal (no copy, forged, rolled back)
 */
export function judgeCopy(passphrase: string, m: RebuildMaterial, lastSeen: number): { copy: VerifiedCopy; genuine: string[] } {
  const genuine = [...new Set(m.backups.flatMap((b) => genuineBackupId(passphrase, b.header, b.hmac) ?? []))].sort();
  if (!m.copy) {
    throw new RebuildRefusal(
      genuine.length
        ? `the repository holds ${genuine.length} backups made with this recovery code but no copy of dom0's ledger (deleted, or they predate the copies); nothing was rebuilt, and their restores will not be checked for completeness.`
        : "the repository holds no copy of dom0's ledger and no backup made with this recovery code; check the repository and the passphrase file, nothing was rebuilt.",
    );
  }
  let e;
  try {
    e = verifyLedgerCopy(ledgerCopyKey(passphrase), m.copy.bytes);
  } catch (err) {
    if (err instanceof LedgerCopyError) {
      throw new RebuildRefusal(`the repository's copy of dom0's ledger (snapshot ${m.copy.snapshot}) is refused: ${err.message.replace(/\.$/, "").replace(/^the data is /, "it is ")}, so it was altered or forged; nothing was rebuilt, check the backup qube.`);
    }
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(e.body);
  } catch {
    raw = undefined;
  }
  const body = Body.safeParse(raw);
  if (!body.success) throw new RebuildRefusal(`the repository's copy of dom0's ledger (snapshot ${m.copy.snapshot}) is signed but not of this agent's format; update qubes-dedup-agent, nothing was rebuilt.`);
  if (e.sequence < lastSeen) {
    throw new RebuildRefusal(`the repository's copy of dom0's ledger has sequence ${e.sequence}, older than sequence ${lastSeen} that this dom0 last wrote or saw, so the backup qube served an older copy (a rollback); nothing was rebuilt, check the backup qube.`);
  }
  const newest = body.data.records.map((r) => r.backupId).sort((a, b) => stamp(a).localeCompare(stamp(b))).at(-1);
  const known = new Set(body.data.records.map((r) => r.backupId));
  const later = genuine.filter((id) => !known.has(id) && (newest === undefined || stamp(id) > stamp(newest)));
  if (later.length) {
    throw new RebuildRefusal(
      `the repository's copy of dom0's ledger (sequence ${e.sequence}) ends ${newest ? `at backup ${newest}` : "before any backup"}, but the repository holds the later backup ${later.join(", ")} made with this recovery code, so the backup qube served an older copy (a rollback); nothing was rebuilt, check the backup qube.`,
    );
  }
  return { copy: { sequence: e.sequence, written: body.data.written, records: body.data.records }, genuine };
}
