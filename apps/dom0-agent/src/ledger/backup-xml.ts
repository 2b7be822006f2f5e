/**
 * What the ledger needs from a backup's `qubes.xml.000` chunk: the data is
 * the inner tar stream of `qubes.xml` (`tar -Pc`, uncompressed as the agent
 * backs up with `--no-compress`), and in it each domain that is in the
 * backup has a non-empty feature `backup-content` (`1`; older files say
 * `True`), `backup-path` (`vm<qid>/`
 * or `dom0-home/<user>`) and `backup-size` (bytes) (backup format v4,
 * DESIGN.md; a real file is shared/fixtures/qubes.xml). Pure; an own small
 * reader, because the agent may use only Node's built-ins and its bundled
 * packages.
 */

/** Raised when the chunk is not a tar stream holding a Qubes `qubes.xml`. */
export class BackupXmlError extends Error {
  override name = "BackupXmlError";
}

/** One qube of a backup, from its `qubes.xml`. */
export interface BackedUpQube {
  name: string;
  /** `backup-path`: `vm3/`, or `dom0-home/user` for dom0's home. */
  path: string;
  /** `backup-size` in bytes (0 when absent). */
  size: number;
}

function octal(field: Buffer): number {
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (!/^[0-7]+$/.test(text)) throw new BackupXmlError("the qubes.xml chunk is not a tar stream (bad size field); the backup was not made by qvm-backup.");
  return parseInt(text, 8);
}

/**
 * The content of member `qubes.xml` of a tar stream (ustar/GNU headers;
 * PAX and GNU long-name records are skipped). Pure.
 * @throws BackupXmlError when there is no such member.
 */
export function tarMember(tar: Buffer, name = "qubes.xml"): Buffer {
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = octal(h.subarray(124, 136));
    const type = String.fromCharCode(h[156]!);
    const member = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const data = off + 512;
    if ((type === "0" || type === "\0") && member === name) {
      if (data + size > tar.length) break;
      return tar.subarray(data, data + size);
    }
    off = data + Math.ceil(size / 512) * 512;
  }
  throw new BackupXmlError(`the qubes.xml chunk holds no complete ${name}; the backup was not made by qvm-backup or is cut short.`);
}

function unescape(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);
}

/** The qubes whose `backup-content` is set, in document order; dom0 (`domain-0`, which has no name property) is "dom0". Pure. */
export function backedUpQubes(xml: string): BackedUpQube[] {
  const out: BackedUpQube[] = [];
  for (const m of xml.matchAll(/<domain\b([^>]*)>([\s\S]*?)<\/domain>/g)) {
    const body = m[2]!;
    const isDom0 = /\bid="domain-0"/.test(m[1]!);
    const name = isDom0 ? "dom0" : /<property name="name">([^<]*)<\/property>/.exec(body)?.[1];
    const features = new Map([...body.matchAll(/<feature name="([^"]+)">([^<]*)<\/feature>/g)].map((f) => [f[1]!, unescape(f[2]!)]));
    if (name === undefined || !features.get("backup-content")) continue;
    const p = features.get("backup-path") ?? "";
    if (!/^(vm[0-9]+\/|dom0-home\/[A-Za-z0-9_.-]+)$/.test(p)) throw new BackupXmlError(`qube ${unescape(name)} has the backup-path "${p}" in the backup's qubes.xml, which is not Qubes'; the backup is damaged.`);
    out.push({ name: unescape(name), path: p, size: Number(features.get("backup-size") ?? 0) || 0 });
  }
  return out;
}

/** Properties naming another qube that a restored qube needs to exist first (qubes.xml, Qubes 4): its template, net qube and default disposable template. */
const LINK_PROPERTIES = ["template", "netvm", "default_dispvm"];

/** One `<domain>` of a backup's `qubes.xml` and the qubes it uses. */
export interface QubeLinks {
  name: string;
  /** Names from {@link LINK_PROPERTIES} that are set explicitly (an unset one means the system's default). */
  uses: string[];
}

/**
 * Every domain of the backup's `qubes.xml`, in document order, whether in
 * the backup or not (qvm-backup stores the whole list, with `backup-content`
 * set only for the qubes it holds), with the qubes each one uses. Pure.
 */
export function qubeLinks(xml: string): QubeLinks[] {
  const out: QubeLinks[] = [];
  for (const m of xml.matchAll(/<domain\b([^>]*)>([\s\S]*?)<\/domain>/g)) {
    const body = m[2]!;
    const name = /\bid="domain-0"/.test(m[1]!) ? "dom0" : /<property name="name">([^<]*)<\/property>/.exec(body)?.[1];
    if (name === undefined) continue;
    const uses: string[] = [];
    for (const p of LINK_PROPERTIES) {
      const v = new RegExp(`<property name="${p}">([^<]+)</property>`).exec(body)?.[1];
      if (v !== undefined && !uses.includes(unescape(v))) uses.push(unescape(v));
    }
    out.push({ name: unescape(name), uses });
  }
  return out;
}
