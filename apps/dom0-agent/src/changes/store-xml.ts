/**
 * What the change record needs from dom0's live `qubes.xml`
 * (`/var/lib/qubes/qubes.xml`, Qubes 4 format as in shared/fixtures/qubes.xml):
 * the pools (name, driver, dir_path) and, per qube, its name, class, uuid,
 * `include_in_backups`, the attributes of each `<volume>` and a digest of
 * its settings. Pure.
 *
 * The settings digest is SHA-256 over the qube's whole `<domain>` element
 * as qubesd wrote it (properties, features, tags, devices, volume config),
 * leaving out what qubesd itself writes for every backup: the property
 * `backup_timestamp` (set after each successful backup, qubes-core-admin
 * qubes/backup.py) and the features `backup-content`, `backup-path`,
 * `backup-size` (set on the backup's copy of the store). So any change of a
 * setting changes the digest, and a backup alone does not.
 */
import { createHash } from "node:crypto";
import { XMLParser } from "fast-xml-parser";

/** A storage pool of the store. */
export interface Pool {
  name: string;
  driver: string;
  /** Directory of file and file-reflink pools. */
  dirPath?: string;
}

/** One qube of the live store. */
export interface LiveQube {
  name: string;
  klass: string;
  /** The `uuid` property (dom0 has none). */
  uuid?: string;
  /** False when the property `include_in_backups` is False. */
  includeInBackups: boolean;
  /** Attributes of each `<volume>`, in order. */
  volumes: Record<string, string>[];
  /** SHA-256 (hex) of the settings, see the module comment. */
  settings: string;
}

/** The parts of the store the change record reads. */
export interface LiveStore {
  pools: Pool[];
  qubes: LiveQube[];
}

/** Raised for a `qubes.xml` that is not a Qubes store. */
export class StoreXmlError extends Error {
  override name = "StoreXmlError";
}

type Node = Record<string, unknown>;
const ARRAYS = new Set(["pool", "property", "domain", "feature", "volume"]);

function list(node: unknown, key: string): Node[] {
  if (!node || typeof node !== "object") return [];
  const v = (node as Node)[key];
  return Array.isArray(v) ? (v as Node[]) : [];
}

function attrs(n: Node): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(n)) if (k.startsWith("@_")) out[k.slice(2)] = String(v);
  return out;
}

function props(container: unknown, key: string): Map<string, string> {
  return new Map(list(container, key).map((n) => [attrs(n).name ?? "", n["#text"] === undefined ? "" : String(n["#text"])]));
}

/** The settings text of a `<domain>` element without what every backup rewrites. */
export function settingsText(domainXml: string): string {
  return domainXml
    .replace(/[ \t]*<property name="backup_timestamp">[^<]*<\/property>\r?\n?/g, "")
    .replace(/[ \t]*<feature name="backup-(?:content|path|size)">[^<]*<\/feature>\r?\n?/g, "")
    .replace(/[ \t]*<feature name="backup-(?:content|path|size)"\/>\r?\n?/g, "")
    // A qube whose only features were those: lxml writes the empty element as <features/>.
    .replace(/<features>\s*<\/features>/g, "<features/>");
}

/**
 * Parses the live store.
 * @throws StoreXmlError when it is not XML with a `<qubes>` root.
 */
export function parseLiveStore(xml: string): LiveStore {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@_", parseTagValue: false, parseAttributeValue: false, trimValues: false, isArray: (n) => ARRAYS.has(n) });
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (e) {
    throw new StoreXmlError(`qubes.xml is not valid XML (${(e as Error).message})`);
  }
  const root = doc.qubes as Node | undefined;
  if (!root || typeof root !== "object") throw new StoreXmlError("qubes.xml has no <qubes> root element");
  const blocks = new Map<string, string>();
  for (const m of xml.matchAll(/<domain\b[^>]*\bid="([^"]+)"[^>]*>[\s\S]*?<\/domain>/g)) blocks.set(m[1]!, m[0]);
  const pools = list(root.pools, "pool").map((n) => {
    const a = attrs(n);
    return { name: a.name ?? "", driver: a.driver ?? "", ...(a.dir_path === undefined ? {} : { dirPath: a.dir_path }) };
  });
  const qubes = list(root.domains, "domain").map((d): LiveQube => {
    const a = attrs(d);
    const p = props(d.properties, "property");
    const isDom0 = a.class === "AdminVM";
    const block = blocks.get(a.id ?? "") ?? "";
    return {
      name: isDom0 ? "dom0" : (p.get("name") ?? ""),
      klass: a.class ?? "",
      ...(p.has("uuid") ? { uuid: p.get("uuid")! } : {}),
      includeInBackups: p.get("include_in_backups") !== "False",
      volumes: list(d["volume-config"], "volume").map(attrs),
      settings: createHash("sha256").update(settingsText(block)).digest("hex"),
    };
  });
  return { pools, qubes };
}
