/**
 * The repository's copy of dom0's ledger (docs/LEDGER.md): the bytes dom0
 * signs, the backup qube stores without being able to check them, and a new
 * dom0 fetches back; and the lines `qubes-dedup ledger fetch` writes for a
 * rebuild. Pure.
 *
 * A copy is text:
 * ```
 * qubes-dedup-ledger-copy/1
 * mac <64 hex>
 * sequence <n>
 * <body: one JSON line {"written": ISO 8601, "records": [ledger records]}>
 * ```
 * The signed part is everything after the `mac` line. mac =
 * HMAC-SHA-256(K, "qubes-dedup ledger v1\n" ‖ signed part), K =
 * HMAC-SHA-256(key = ASCII "qubes-dedup-v1 ledger copy key", message = the
 * project passphrase). The shim's chunk keys use another label
 * ("qubes-dedup-v1 shim mac key", formats/trailer.ts) and a passphrase line
 * (`…!<pass>`), never the bare passphrase, so no chunk tag can ever be a
 * ledger signature or the reverse.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/** First line of a copy. */
export const LEDGER_COPY_FORMAT = "qubes-dedup-ledger-copy/1";
const KEY_LABEL = "qubes-dedup-v1 ledger copy key";
const MAC_CONTEXT = "qubes-dedup ledger v1\n";

/** Raised when bytes are not a ledger copy, or (dom0) its signature does not verify. */
export class LedgerCopyError extends Error {
  override name = "LedgerCopyError";
}

/** The 32-byte key that signs ledger copies, from the project passphrase. Pure. */
export function ledgerCopyKey(passphrase: string): Buffer {
  return createHmac("sha256", KEY_LABEL).update(passphrase).digest();
}

function mac(key: Uint8Array, signed: Buffer): Buffer {
  return createHmac("sha256", key).update(MAC_CONTEXT).update(signed).digest();
}

/** A copy's parts as its lines say, nothing checked but the shape. */
export interface LedgerCopyEnvelope {
  sequence: number;
  /** the signature as written */
  mac: Buffer;
  /** the signed bytes (`sequence …\n<body>\n`) */
  signed: Buffer;
  /** the body's text (one JSON line) */
  body: string;
}

/** A copy's bytes: sequence and body signed with `key` ({@link ledgerCopyKey}). Pure. */
export function formatLedgerCopy(key: Uint8Array, sequence: number, body: string): Buffer {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`sequence ${sequence} is not a positive integer`);
  if (body.includes("\n")) throw new RangeError("the body of a ledger copy is one line");
  const signed = Buffer.from(`sequence ${sequence}\n${body}\n`);
  return Buffer.concat([Buffer.from(`${LEDGER_COPY_FORMAT}\nmac ${mac(key, signed).toString("hex")}\n`), signed]);
}

/**
 * Splits a copy into its parts without any key (what the backup qube can
 * read: the sequence, as a hint). Pure.
 * @throws LedgerCopyError when the bytes are not a copy of this format
 */
export function parseLedgerCopyEnvelope(bytes: Buffer): LedgerCopyEnvelope {
  const bad = (why: string) => new LedgerCopyError(`the data is not a copy of dom0's ledger (${why}); only \`qubes-dedup-agent\` in dom0 writes them.`);
  const first = bytes.indexOf(0x0a);
  const second = first < 0 ? -1 : bytes.indexOf(0x0a, first + 1);
  const third = second < 0 ? -1 : bytes.indexOf(0x0a, second + 1);
  if (third < 0) throw bad("fewer than three lines");
  if (bytes.toString("latin1", 0, first) !== LEDGER_COPY_FORMAT) throw bad(`the first line is not ${LEDGER_COPY_FORMAT}`);
  const m = /^mac ([0-9a-f]{64})$/.exec(bytes.toString("latin1", first + 1, second));
  if (!m) throw bad("no mac line");
  const s = /^sequence ([1-9][0-9]{0,14})$/.exec(bytes.toString("latin1", second + 1, third));
  if (!s) throw bad("no sequence line");
  if (bytes.at(-1) !== 0x0a || bytes.indexOf(0x0a, third + 1) !== bytes.length - 1) throw bad("the body is not one line");
  return { sequence: Number(s[1]), mac: Buffer.from(m[1]!, "hex"), signed: bytes.subarray(second + 1), body: bytes.toString("utf8", third + 1, bytes.length - 1) };
}

/**
 * Parses a copy and checks its signature with `key`. Pure.
 * @throws LedgerCopyError (shape, or a signature that does not verify: the message says so)
 */
export function verifyLedgerCopy(key: Uint8Array, bytes: Buffer): LedgerCopyEnvelope {
  const e = parseLedgerCopyEnvelope(bytes);
  if (!timingSafeEqual(mac(key, e.signed), e.mac)) throw new LedgerCopyError("its signature does not verify with the recovery code");
  return e;
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const FetchLine = z.union([
  z.object({ backup: z.object({ snapshot: z.string().max(128), header: b64.max(8192), hmac: b64.max(8192) }).strict() }).strict(),
  z.object({ copy: z.object({ snapshot: z.string().max(128), bytes: b64 }).strict() }).strict(),
  z.object({ end: z.literal(true) }).strict(),
]);
/** One line of `qubes-dedup ledger fetch`: a backup's header files, the newest copy, or the end. */
export type LedgerFetchLine = z.infer<typeof FetchLine>;

/** The text of one fetch line. Pure. */
export function formatFetchLine(l: LedgerFetchLine): string {
  return `${JSON.stringify(l)}\n`;
}

/**
 * Parses the whole output of `qubes-dedup ledger fetch`: the backups' header
 * files (base64 decoded), the newest copy if any; the `end` line must close it. Pure.
 * @throws LedgerCopyError naming the first line that is not of the grammar, or a missing end
 */
export function parseFetchOutput(text: string): { backups: { snapshot: string; header: Buffer; hmac: Buffer }[]; copy?: { snapshot: string; bytes: Buffer } } {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const backups: { snapshot: string; header: Buffer; hmac: Buffer }[] = [];
  let copy: { snapshot: string; bytes: Buffer } | undefined;
  let ended = false;
  for (const [i, l] of lines.entries()) {
    let v: LedgerFetchLine;
    try {
      v = FetchLine.parse(JSON.parse(l));
    } catch {
      throw new LedgerCopyError(`line ${i + 1} of the backup qube's answer is not of the ledger fetch grammar; update qubes-dedup in the backup qube.`);
    }
    if (ended) throw new LedgerCopyError(`the backup qube's answer goes on after its end line; update qubes-dedup in the backup qube.`);
    if ("end" in v) ended = true;
    else if ("backup" in v) backups.push({ snapshot: v.backup.snapshot, header: Buffer.from(v.backup.header, "base64"), hmac: Buffer.from(v.backup.hmac, "base64") });
    else if (copy) throw new LedgerCopyError("the backup qube sent two ledger copies; update qubes-dedup in the backup qube.");
    else copy = { snapshot: v.copy.snapshot, bytes: Buffer.from(v.copy.bytes, "base64") };
  }
  if (!ended) throw new LedgerCopyError("the backup qube's answer ended before its end line (cut short); run the rebuild again.");
  return { backups, ...(copy ? { copy } : {}) };
}
