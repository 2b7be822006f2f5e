/**
 * The byte formats the shim and the dom0 agent share for dom0's ledger
 * (docs/LEDGER.md). Pure, Node built-ins only (the shim bundles this file).
 *
 * Backup spool (the shim writes, the agent folds into the ledger), under
 * `<state>/spool/<backup-id>/`:
 * - `header`: the `backup-header` text the shim authenticated;
 * - `chunks`: one line per chunk in the order the shim wrote them,
 *   `<path> <data bytes> <tag hex>\n` (`path` as in the passphrase line,
 *   e.g. `vm3/private.img.000`; tag = the trailer's 32-byte HMAC);
 * - `qubes.xml.000`: the data of the `qubes.xml` chunk (its inner tar stream).
 *
 * Restore run (the agent writes `plan.json`, the shim appends to `journal`),
 * under `<state>/runs/<run>/`: the plan names the confirmed backup-id and,
 * in stream order, every file of the selected qubes with its chunk tags;
 * the journal has one line per verified item: `header <backup-id>`,
 * `ok <chunk path>`, or `fail <sentence>`.
 */

/** A backup-id as qvm-backup writes it (DESIGN.md, backup format v4). */
export const BACKUP_ID_RE = /^[0-9]{8}T[0-9]{6}-[0-9]{1,10}$/;
const TAG_RE = /^[0-9a-f]{64}$/;
const CHUNK_PATH_RE = /^((?:vm[0-9]+\/[A-Za-z0-9_.-]+)|(?:dom0-home\/[A-Za-z0-9_.-]+)|qubes\.xml)\.([0-9]{3})$/;

/** Raised for a spool, plan or journal that does not have the documented shape. */
export class LedgerFormatError extends Error {
  override name = "LedgerFormatError";
}

/** One chunk as the shim wrote it during a backup. */
export interface ChunkRecord {
  /** Chunk path without `.enc`, e.g. `vm3/private.img.000`. */
  path: string;
  /** Data bytes before the trailer. */
  dataLength: number;
  /** The trailer's tag, 64 lowercase hex characters. */
  tag: string;
}

/** The spool line of one chunk. Pure. */
export function formatChunkRecord(r: ChunkRecord): string {
  return `${r.path} ${r.dataLength} ${r.tag}\n`;
}

/** Parses a whole `chunks` spool file. Pure. @throws LedgerFormatError on a malformed line. */
export function parseChunkRecords(text: string): ChunkRecord[] {
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new LedgerFormatError("the spool's last chunk line is cut off; the backup's record is incomplete.");
  return lines.slice(0, -1).map((line, i) => {
    const [p = "", len = "", tag = "", ...rest] = line.split(" ");
    if (rest.length || !splitChunkPath(p) || !/^[0-9]{1,15}$/.test(len) || !TAG_RE.test(tag)) {
      throw new LedgerFormatError(`line ${i + 1} of the spool is not "<path> <bytes> <tag>"; the backup's record is damaged.`);
    }
    return { path: p, dataLength: Number(len), tag };
  });
}

/** `vm3/private.img.001` -> file `vm3/private.img`, index 1; null for anything else. Pure. */
export function splitChunkPath(p: string): { file: string; index: number } | null {
  const m = CHUNK_PATH_RE.exec(p);
  return m ? { file: m[1]!, index: Number(m[2]) } : null;
}

/** The `backup-id=` value of a `backup-header` text, if it has a valid one. Pure. */
export function headerBackupId(header: string): string | undefined {
  const m = /^backup-id=(.*)$/m.exec(header);
  return m && BACKUP_ID_RE.test(m[1]!) ? m[1] : undefined;
}

/** The passphrase line's fields: the header's, or a chunk's backup-id and path. Pure. */
export function lineFields(line: string): { kind: "header" } | { kind: "chunk"; backupId: string; path: string } | null {
  const parts = line.split("!");
  if (parts.length === 2 && parts[0] === "backup-header") return { kind: "header" };
  if (parts.length === 3 && BACKUP_ID_RE.test(parts[0]!) && splitChunkPath(parts[1]!)) return { kind: "chunk", backupId: parts[0]!, path: parts[1]! };
  return null;
}

/** One file of a selected qube, as the ledger recorded it. */
export interface PlanFile {
  /** File path in the stream without chunk number, e.g. `vm3/private.img`. */
  path: string;
  /** The qube's name (`dom0` for dom0's home). */
  qube: string;
  /** The file's name inside the qube's directory, e.g. `private.img`. */
  name: string;
  /** The tag of each chunk, in order. */
  tags: string[];
}

/** What one restore run must see, in stream order. */
export interface RestorePlan {
  backupId: string;
  /** A backup made before the ledger: only the backup-id is checked. */
  legacy: boolean;
  /** The tag of `qubes.xml.000`, when recorded. */
  qubesXmlTag?: string;
  files: PlanFile[];
}

/** The text of `plan.json`. Pure. */
export function formatRestorePlan(p: RestorePlan): string {
  return `${JSON.stringify({ v: 1, ...p })}\n`;
}

/** Parses `plan.json`. Pure. @throws LedgerFormatError */
export function parseRestorePlan(text: string): RestorePlan {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new LedgerFormatError("the restore plan is not valid JSON; run the restore again from the dom0 agent.");
  }
  const p = v as Partial<RestorePlan> & { v?: number };
  const files = Array.isArray(p.files) ? p.files : null;
  const fileOk = (f: PlanFile) => typeof f.path === "string" && typeof f.qube === "string" && typeof f.name === "string" && Array.isArray(f.tags) && f.tags.every((t) => TAG_RE.test(t));
  if (p.v !== 1 || typeof p.backupId !== "string" || !BACKUP_ID_RE.test(p.backupId) || typeof p.legacy !== "boolean" || !files || !files.every(fileOk) || (p.qubesXmlTag !== undefined && !TAG_RE.test(p.qubesXmlTag))) {
    throw new LedgerFormatError("the restore plan does not have the documented shape; run the restore again from the dom0 agent.");
  }
  return { backupId: p.backupId, legacy: p.legacy, ...(p.qubesXmlTag ? { qubesXmlTag: p.qubesXmlTag } : {}), files };
}

/** One journal line of a restore run. */
export type JournalEntry = { kind: "header"; backupId: string } | { kind: "ok"; path: string } | { kind: "fail"; reason: string };

/** The journal line of one entry. Pure. */
export function formatJournalEntry(e: JournalEntry): string {
  const text = e.kind === "header" ? e.backupId : e.kind === "ok" ? e.path : e.reason.replace(/\n/g, " ");
  return `${e.kind} ${text}\n`;
}

/** Parses a journal; an unknown or cut-off line is ignored (the shim may have been killed). Pure. */
export function parseJournal(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of text.split("\n").slice(0, -1)) {
    const sp = line.indexOf(" ");
    const kind = line.slice(0, sp);
    const rest = line.slice(sp + 1);
    if (kind === "header") out.push({ kind, backupId: rest });
    else if (kind === "ok") out.push({ kind, path: rest });
    else if (kind === "fail") out.push({ kind, reason: rest });
  }
  return out;
}

const n3 = (i: number) => String(i).padStart(3, "0");
const AFTER = "; the backup qube served an incomplete or altered stream, restore from an intact copy of the backup";

interface Step {
  file: PlanFile;
  index: number;
}

function steps(plan: RestorePlan): Step[] {
  return plan.files.flatMap((file) => file.tags.map((_t, index) => ({ file, index })));
}

/** The label of a chunk in the shim's messages: "chunk 001 of qube work's file private.img". Pure. */
export function chunkLabel(plan: RestorePlan, chunkPath: string): string | undefined {
  const c = splitChunkPath(chunkPath);
  const f = c && plan.files.find((x) => x.path === c.file);
  return f && c ? `chunk ${n3(c.index)} of qube ${f.qube}'s file ${f.name}` : undefined;
}

/** The sentence for the first step that did not arrive (`done` steps did). */
function missingSentence(plan: RestorePlan, all: Step[], done: number, arrived?: string): string {
  const exp = all[done]!;
  const f = exp.file;
  const got = arrived ? ` (${arrived} arrived instead)` : "";
  if (exp.index > 0) return `qube ${f.qube}, file ${f.name}: only ${exp.index} of ${f.tags.length} chunks arrived, its last chunks are missing${got}${AFTER}.`;
  const qubeStarted = all.slice(0, done).some((s) => s.file.qube === f.qube);
  if (!qubeStarted) return `qube ${f.qube} is missing from the stream: none of its files arrived, the first one is ${f.name}${got}${AFTER}.`;
  return `qube ${f.qube}, file ${f.name} is missing from the stream${got}${AFTER}.`;
}

/**
 * Judges one data chunk of a restore against the plan, given the paths the
 * journal already accepted (which are therefore in order).
 * @returns null when `chunkPath` with `tag` is exactly the next chunk the
 *   ledger recorded; else the one sentence naming the qube and the file.
 */
export function judgeChunk(plan: RestorePlan, accepted: string[], chunkPath: string, tag: string): string | null {
  if (plan.legacy) return null;
  const c = splitChunkPath(chunkPath);
  const all = steps(plan);
  const done = accepted.filter((p) => p !== "qubes.xml.000").length;
  const exp = all[done];
  const file = c ? plan.files.find((f) => f.path === c.file) : undefined;
  if (!c || !file) {
    const dir = chunkPath.includes("/") ? chunkPath.slice(0, chunkPath.indexOf("/") + 1) : chunkPath;
    const owner = plan.files.find((f) => f.path.startsWith(dir));
    if (owner) return `qube ${owner.qube}: the stream holds the file ${chunkPath.slice(dir.length).replace(/\.[0-9]{3}$/, "")}, which backup ${plan.backupId} did not contain according to dom0's ledger${AFTER}.`;
    return `the stream holds ${chunkPath}, a file of no qube that backup ${plan.backupId} holds for this restore according to dom0's ledger (an added qube)${AFTER}.`;
  }
  if (exp && exp.file === file && exp.index === c.index) {
    if (file.tags[c.index] !== tag) return `qube ${file.qube}, file ${file.name}: chunk ${n3(c.index)} is not the chunk dom0 backed up (replaced, swapped or from another backup)${AFTER}.`;
    return null;
  }
  const arrived = `chunk ${n3(c.index)} of ${file.name}`;
  if (!exp) return `qube ${file.qube}, file ${file.name}: chunk ${n3(c.index)} arrived after every recorded chunk had been restored (a repeated or added chunk)${AFTER}.`;
  if (exp.file === file) {
    return `qube ${file.qube}, file ${file.name}: chunk ${n3(c.index)} arrived where chunk ${n3(exp.index)} of ${file.tags.length} was expected (chunks missing, swapped or repeated)${AFTER}.`;
  }
  const doneFile = all.slice(0, done).some((s) => s.file === file);
  if (doneFile) return `qube ${file.qube}, file ${file.name}: chunk ${n3(c.index)} arrived again after the file was complete${AFTER}.`;
  return missingSentence(plan, all, done, `qube ${file.qube}'s ${arrived}`);
}

/** How complete a restore run was. */
export interface Completeness {
  complete: boolean;
  /** The one sentence naming the first missing qube and file (when incomplete). */
  missing?: string;
  /** Qubes every chunk of which arrived. */
  completeQubes: string[];
  /** Qubes with at least one missing chunk. */
  incompleteQubes: string[];
}

/** Compares the accepted chunk paths with the plan. Pure. */
export function completeness(plan: RestorePlan, accepted: string[]): Completeness {
  const qubes = [...new Set(plan.files.map((f) => f.qube))];
  if (plan.legacy) return { complete: true, completeQubes: qubes, incompleteQubes: [] };
  const all = steps(plan);
  const done = Math.min(accepted.filter((p) => p !== "qubes.xml.000").length, all.length);
  const incomplete = new Set(all.slice(done).map((s) => s.file.qube));
  return {
    complete: done === all.length,
    ...(done < all.length ? { missing: missingSentence(plan, all, done) } : {}),
    completeQubes: qubes.filter((q) => !incomplete.has(q)),
    incompleteQubes: qubes.filter((q) => incomplete.has(q)),
  };
}
