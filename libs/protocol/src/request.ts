/**
 * The request grammar of the qrexec services qubes.DedupBackup and
 * qubes.DedupRestore. The caller (the backup qube) is not trusted: it sends
 * ONE line of JSON (at most {@link MAX_REQUEST_BYTES} bytes, newline
 * included), which must match a strict schema with known keys only; every
 * name then passes the name rules (names.ts) and count limits. dom0 refuses
 * anything else before it runs anything. Pure.
 */
import { z } from "zod";
import { NameError, checkBackupId, checkQubeName, checkRepositoryName, checkSnapshotRef } from "./names.ts";

/** Largest request accepted, in bytes, including the terminating newline. */
export const MAX_REQUEST_BYTES = 4096;
/** Most qube names accepted in `qubes` (and in `exclude`). */
export const MAX_QUBES = 100;

/** Raised for a request that does not match the grammar; `message` is one sentence. */
export class RequestError extends Error {
  override name = "RequestError";
}

/** A validated qubes.DedupBackup request. */
export interface BackupRequest {
  repo?: string;
  qubes: string[];
  exclude: string[];
  /** Back up only the qubes whose data or settings changed since dom0's change record (`backup --changed`); present only when true. */
  changed?: true;
  /** With `changed`: every selected qube all the same, a full backup (`--full`); present only when true. */
  full?: true;
}

/** A validated qubes.DedupRestore request. */
export interface RestoreRequest {
  repo?: string;
  snapshot: string;
  qubes: string[];
  verifyOnly: boolean;
  conflicts?: "rename" | "skip";
  /**
   * qvm-backup-restore --paranoid-mode: the backup is parsed and decrypted
   * in a disposable qube made from management_dispvm, never in dom0.
   */
  paranoid: boolean;
  /** The backup the user chose (dom0 checks it against its ledger); absent: the newest one dom0 recorded. */
  backupId?: string;
}

/**
 * A validated qubes.DedupRestore request for a restore point: for each qube
 * its latest good backup at or before `point`, which dom0 works out from its
 * own ledger (never from the request).
 */
export interface RestorePointRequest {
  repo?: string;
  /** "latest", a backup-id (the point that backup completed) or an ISO 8601 UTC time. */
  point: string;
  /** Qubes to restore; none means every qube of the point. */
  qubes: string[];
  conflicts?: "rename" | "skip";
}

/** A restore point as the request names it: `latest`, a backup-id or an ISO 8601 UTC time (`2026-12-02T10:00:00Z`, seconds and milliseconds optional). */
export const RESTORE_POINT_RE = /^(latest|[0-9]{8}T[0-9]{6}-[0-9]{1,10}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,3})?)?Z)$/;

const names = z.array(z.string()).max(MAX_QUBES, `at most ${MAX_QUBES} qube names are accepted`);
const BackupSchema = z.object({ repo: z.string().optional(), qubes: names.optional(), exclude: names.optional(), changed: z.boolean().optional(), full: z.boolean().optional() }).strict();
const RestoreSchema = z
  .object({
    repo: z.string().optional(),
    snapshot: z.string(),
    qubes: names.optional(),
    verifyOnly: z.boolean().optional(),
    paranoid: z.boolean().optional(),
    conflicts: z.enum(["rename", "skip"]).optional(),
    backupId: z.string().optional(),
  })
  .strict();

const RestorePointSchema = z.object({ repo: z.string().optional(), point: z.string(), qubes: names.optional(), conflicts: z.enum(["rename", "skip"]).optional() }).strict();

/**
 * Turns the raw request bytes into the one JSON line they must be.
 * @param bytes everything read from the caller (the reader stops at the first newline).
 * Nothing is normalised: a byte order mark, a carriage return or any other
 * byte that JSON does not allow before `{` is refused.
 * @throws RequestError for too many bytes, NUL, bytes after the first line, invalid UTF-8, a BOM or an empty request.
 */
export function requestLine(bytes: Uint8Array): string {
  if (bytes.length > MAX_REQUEST_BYTES) throw new RequestError(`the request is longer than ${MAX_REQUEST_BYTES} bytes; send one short JSON line.`);
  if (bytes.includes(0)) throw new RequestError("the request contains a NUL byte; send one JSON line of text.");
  const nl = bytes.indexOf(0x0a);
  if (nl !== -1 && nl !== bytes.length - 1) throw new RequestError("the request has more than one line; send exactly one JSON line.");
  let text: string;
  try {
    // ignoreBOM keeps a byte order mark in the text, so that it is refused
    // below instead of silently dropped: the bytes are judged as sent.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(nl === -1 ? bytes : bytes.subarray(0, nl));
  } catch {
    throw new RequestError("the request is not valid UTF-8; send one JSON line of text.");
  }
  if (text.startsWith("\ufeff")) throw new RequestError("the request starts with a byte order mark; send one JSON line of plain UTF-8.");
  if (text.includes("\r")) throw new RequestError("the request contains a carriage return; send exactly one JSON line.");
  if (text.trim() === "") throw new RequestError("the request is empty; send one JSON line such as {}.");
  return text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestError("the request is not valid JSON; send one JSON object on one line.");
  }
}

function schemaIssue(error: z.ZodError): RequestError {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    return new RequestError(`the request has unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; only the documented keys are accepted.`);
  }
  const where = issue?.path.length ? `"${issue.path.join(".")}"` : "the request";
  return new RequestError(`${where} is invalid (${issue?.message ?? "bad value"}); see the request grammar of qubes-dedup-agent rpc.`);
}

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NameError) throw new RequestError(e.message);
    throw e;
  }
}

function qubeList(list: string[] | undefined, what: string): string[] {
  const out = checked(() => (list ?? []).map((q) => checkQubeName(q, what)));
  const dup = out.find((q, i) => out.indexOf(q) !== i);
  if (dup !== undefined) throw new RequestError(`${what} "${dup}" is listed twice; name each qube once.`);
  return out;
}

/**
 * Parses and validates a qubes.DedupBackup request:
 * `{repo?, qubes?: [], exclude?: [], changed?: boolean, full?: boolean}`.
 * @throws RequestError
 */
export function parseBackupRequest(bytes: Uint8Array): BackupRequest {
  const r = BackupSchema.safeParse(parseJson(requestLine(bytes)));
  if (!r.success) throw schemaIssue(r.error);
  const qubes = qubeList(r.data.qubes, "qube");
  const exclude = qubeList(r.data.exclude, "excluded qube");
  const both = qubes.find((q) => exclude.includes(q));
  if (both !== undefined) throw new RequestError(`qube "${both}" is both requested and excluded; choose one.`);
  if (r.data.full === true && r.data.changed !== true) throw new RequestError('"full" needs "changed": true (a backup without "changed" sends every selected qube anyway).');
  return { ...(r.data.repo === undefined ? {} : { repo: checked(() => checkRepositoryName(r.data.repo!)) }), qubes, exclude, ...(r.data.changed ? { changed: true as const } : {}), ...(r.data.full ? { full: true as const } : {}) };
}

/**
 * Parses and validates a qubes.DedupRestore request:
 * `{repo?, snapshot, qubes?: [], verifyOnly?: boolean, paranoid?: boolean, conflicts?: "rename"|"skip", backupId?}`.
 * @throws RequestError
 */
export function parseRestoreRequest(bytes: Uint8Array): RestoreRequest {
  const r = RestoreSchema.safeParse(parseJson(requestLine(bytes)));
  if (!r.success) throw schemaIssue(r.error);
  return {
    ...(r.data.repo === undefined ? {} : { repo: checked(() => checkRepositoryName(r.data.repo!)) }),
    snapshot: checked(() => checkSnapshotRef(r.data.snapshot)),
    qubes: qubeList(r.data.qubes, "qube"),
    verifyOnly: r.data.verifyOnly ?? false,
    paranoid: r.data.paranoid ?? false,
    ...(r.data.conflicts === undefined ? {} : { conflicts: r.data.conflicts }),
    ...(r.data.backupId === undefined ? {} : { backupId: checked(() => checkBackupId(r.data.backupId!)) }),
  };
}

/** True when the request line (already checked by {@link requestLine}) asks for a restore point (has a "point" key). Pure; never throws. */
export function isRestorePointRequest(bytes: Uint8Array): boolean {
  try {
    const v = JSON.parse(requestLine(bytes)) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) && "point" in v;
  } catch {
    return false;
  }
}

/**
 * Parses and validates a qubes.DedupRestore request for a restore point:
 * `{repo?, point: "latest"|<backup-id>|<ISO time>, qubes?: [], conflicts?: "rename"|"skip"}`.
 * @throws RequestError
 */
export function parseRestorePointRequest(bytes: Uint8Array): RestorePointRequest {
  const r = RestorePointSchema.safeParse(parseJson(requestLine(bytes)));
  if (!r.success) throw schemaIssue(r.error);
  if (!RESTORE_POINT_RE.test(r.data.point)) throw new RequestError(`restore point "${r.data.point.slice(0, 40)}" is not valid; use latest, a backup-id (YYYYmmddTHHMMSS-<pid>) or a UTC time such as 2026-12-02T10:00:00Z.`);
  return {
    ...(r.data.repo === undefined ? {} : { repo: checked(() => checkRepositoryName(r.data.repo!)) }),
    point: r.data.point,
    qubes: qubeList(r.data.qubes, "qube"),
    ...(r.data.conflicts === undefined ? {} : { conflicts: r.data.conflicts }),
  };
}
