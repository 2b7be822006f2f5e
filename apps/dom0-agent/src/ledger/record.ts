/**
 * One backup in dom0's ledger (docs/LEDGER.md): what the shim wrote for it,
 * folded from its spool after qvm-backup succeeded. The file
 * `<state>/ledger/<backup-id>.json` holds one record:
 *
 * ```json
 * {"format":"qubes-dedup-ledger/1","backupId":"20261202T003500-1234",
 *  "recorded":"2026-12-02T00:35:09.000Z","qubesXml":{"bytes":10240,"tag":"<hex>"},
 *  "qubes":[{"name":"work","path":"vm3/","size":401408,
 *            "files":[{"name":"private.img","bytes":401408,"chunks":["<tag hex>", …]}]}]}
 * ```
 * `qubes` and `files` are in stream order; `chunks` holds each chunk's
 * trailer tag (HMAC-SHA-256, which binds data, backup-id and path), so the
 * count, the order and every chunk's content are fixed. Pure.
 */
import { z } from "zod";
import { BACKUP_ID_RE, parseChunkRecords, splitChunkPath, type ChunkRecord } from "@qubes-dedup/shim";
import { backedUpQubes, qubeLinks, tarMember } from "./backup-xml.ts";

/** The `format` value of version 1 records. */
export const LEDGER_FORMAT = "qubes-dedup-ledger/1";

const Tag = z.string().regex(/^[0-9a-f]{64}$/);
/** The zod schema of a {@link LedgerRecord} (strict). */
export const RecordSchema = z
  .object({
    format: z.literal(LEDGER_FORMAT),
    backupId: z.string().regex(BACKUP_ID_RE),
    recorded: z.string(),
    qubesXml: z.object({ bytes: z.number().int().nonnegative(), tag: Tag }).strict(),
    qubes: z.array(
      z
        .object({
          name: z.string(),
          path: z.string(),
          size: z.number().nonnegative(),
          files: z.array(z.object({ name: z.string(), bytes: z.number().int().nonnegative(), chunks: z.array(Tag).min(1) }).strict()),
          /** The qubes this one uses (template, net qube, default disposable template), from the backup's qubes.xml; absent in records made before it was kept. */
          uses: z.array(z.string()).optional(),
        })
        .strict(),
    ),
    /** Every qube the backup's qubes.xml lists, in the backup or not: the qubes dom0 had then (restore points); absent in records made before it was kept. */
    listed: z.array(z.string()).optional(),
  })
  .strict();

/** One backup as dom0 recorded it. */
export type LedgerRecord = z.infer<typeof RecordSchema>;
/** One qube of a {@link LedgerRecord}. */
export type LedgerQube = LedgerRecord["qubes"][number];

/** Raised when a spool cannot be folded or a record file is not valid. */
export class LedgerError extends Error {
  override name = "LedgerError";
}

/** What the shim spooled for one backup (ledger-format.ts in libs/shim). */
export interface Spool {
  backupId: string;
  /** The `chunks` file's text. */
  chunks: string;
  /** The data of `qubes.xml.000` (its inner tar stream). */
  qubesXml: Buffer;
}

/** The stream's file (`vm3/private.img`) split at its qube's backup-path. */
function ownerOf(qubes: LedgerQube[], file: string): { qube: LedgerQube; name: string } | undefined {
  for (const q of qubes) {
    if (q.path.endsWith("/") && file.startsWith(q.path)) return { qube: q, name: file.slice(q.path.length) };
    if (file === q.path) return { qube: q, name: q.path.slice(q.path.lastIndexOf("/") + 1) };
  }
  return undefined;
}

function addChunk(qubes: LedgerQube[], r: ChunkRecord, id: string): void {
  const c = splitChunkPath(r.path)!;
  const owner = ownerOf(qubes, c.file);
  if (!owner) throw new LedgerError(`the shim recorded ${r.path} for backup ${id}, which belongs to no qube in its qubes.xml; the backup is not recorded.`);
  let f = owner.qube.files.find((x) => x.name === owner.name);
  if (!f) {
    if (c.index !== 0) throw new LedgerError(`the shim's record of backup ${id} starts ${c.file} at chunk ${c.index}; the backup is not recorded.`);
    f = { name: owner.name, bytes: 0, chunks: [] };
    owner.qube.files.push(f);
  }
  if (c.index !== f.chunks.length) throw new LedgerError(`the shim's record of backup ${id} has chunk ${c.index} of ${c.file} after ${f.chunks.length} chunks; the backup is not recorded.`);
  f.chunks.push(r.tag);
  f.bytes += r.dataLength;
}

/**
 * Folds one backup's spool into its ledger record, `recorded` being the
 * time of folding (ISO 8601). Qubes appear in stream order. Pure.
 * @throws LedgerError when the spool is incomplete or inconsistent.
 */
export function foldSpool(s: Spool, recorded: string): LedgerRecord {
  const records = parseChunkRecords(s.chunks);
  const xmlChunk = records.find((r) => r.path === "qubes.xml.000");
  if (!xmlChunk) throw new LedgerError(`the shim recorded no qubes.xml for backup ${s.backupId}; the backup is not recorded.`);
  if (xmlChunk.dataLength !== s.qubesXml.length) throw new LedgerError(`the shim's copy of backup ${s.backupId}'s qubes.xml is ${s.qubesXml.length} bytes, not ${xmlChunk.dataLength}; the backup is not recorded.`);
  const xml = tarMember(s.qubesXml).toString("utf8");
  const links = qubeLinks(xml);
  const known = backedUpQubes(xml).map((q) => ({ ...q, files: [] as LedgerQube["files"], uses: links.find((l) => l.name === q.name)?.uses ?? [] }));
  const order: LedgerQube[] = [];
  for (const r of records) {
    if (r.path === "qubes.xml.000") continue;
    addChunk(known, r, s.backupId);
    const owner = ownerOf(known, splitChunkPath(r.path)!.file)!.qube;
    if (!order.includes(owner)) order.push(owner);
  }
  const empty = known.find((q) => !order.includes(q));
  if (empty) throw new LedgerError(`the shim recorded no file of qube ${empty.name} for backup ${s.backupId}; the backup is not recorded.`);
  return RecordSchema.parse({ format: LEDGER_FORMAT, backupId: s.backupId, recorded, qubesXml: { bytes: xmlChunk.dataLength, tag: xmlChunk.tag }, qubes: order, listed: links.map((l) => l.name) });
}

/** The file text of a record. Pure. */
export function formatLedgerRecord(r: LedgerRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** Parses a record file. Pure. @throws LedgerError naming `file`. */
export function parseLedgerRecord(text: string, file: string): LedgerRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new LedgerError(`the ledger file ${file} is not valid JSON; restore it from the repository's copy or remove it.`);
  }
  const r = RecordSchema.safeParse(v);
  if (!r.success) throw new LedgerError(`the ledger file ${file} is not a ledger record (${r.error.issues[0]?.message ?? "bad shape"}); restore it from the repository's copy or remove it.`);
  return r.data;
}

/** "2026-12-02 00:35:00", the time in a backup-id (qubesd's local time). Pure. */
export function backupIdTime(id: string): string {
  return `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)} ${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}`;
}
