import { XMLParser } from "fast-xml-parser";
import { IngestError } from "../errors.ts";

/** A volume of a qube, from `<volume-config>`. */
export interface VolumeInfo {
  name: string;
  saveOnStop: boolean;
  /** bytes, when the volume declares a size */
  size?: number;
}

/** One `<domain>` of `qubes.xml`, with its backup features. */
export interface QubeInfo {
  qid: number;
  name: string;
  klass: string;
  /** feature `backup-content`: the qube is in this backup */
  backupContent: boolean;
  /** feature `backup-path`, e.g. `vm3/` (v4) or `appvms/work` (older) */
  backupPath?: string;
  /** feature `backup-size` in bytes */
  backupSize?: number;
  volumes: VolumeInfo[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (name) => ["domain", "property", "feature", "volume"].includes(name),
  processEntities: true,
  parseTagValue: false,
  parseAttributeValue: false,
});

type Node = Record<string, unknown>;
const asNodes = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);
const text = (n: Node): string => (typeof n["#text"] === "string" ? n["#text"] : "");

function named(list: unknown): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of asNodes(list)) m.set(String(n["@name"] ?? ""), text(n));
  return m;
}

function domain(d: Node): QubeInfo {
  const props = named((d.properties as Node | undefined)?.property);
  const feats = named((d.features as Node | undefined)?.feature);
  // dom0 (AdminVM) carries neither property: its qid is in id="domain-0".
  const idQid = /^domain-(\d+)$/.exec(String(d["@id"] ?? ""))?.[1];
  const qid = Number(props.get("qid") ?? idQid);
  const name = props.get("name") ?? (qid === 0 ? "dom0" : undefined);
  if (!Number.isInteger(qid) || !name) throw new IngestError("qubes.xml has a domain without a valid qid and name; check that the backup was made by qvm-backup.");
  const volumes = asNodes((d["volume-config"] as Node | undefined)?.volume).map((v) => {
    const vol: VolumeInfo = { name: String(v["@name"] ?? ""), saveOnStop: v["@save_on_stop"] === "True" };
    if (v["@size"] !== undefined) vol.size = Number(v["@size"]);
    return vol;
  });
  const q: QubeInfo = { qid, name, klass: String(d["@class"] ?? ""), backupContent: isTrueFeature(feats.get("backup-content")), volumes };
  const path = feats.get("backup-path");
  if (path) q.backupPath = path;
  const size = feats.get("backup-size");
  if (size !== undefined && /^\d+$/.test(size)) q.backupSize = Number(size);
  return q;
}

/**
 * Parses Qubes' `qubes.xml` (as stored in a backup) into its qubes.
 * @returns every `<domain>`, in document order
 * @throws IngestError when the XML is malformed or has no `<qubes><domains>`
 */
export function parseQubesXml(xml: string): QubeInfo[] {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (e) {
    throw new IngestError(`qubes.xml in the backup is not well-formed XML (${(e as Error).message.split("\n")[0]}); check that the backup was made by qvm-backup.`);
  }
  const domains = ((doc.qubes as Node | undefined)?.domains as Node | undefined)?.domain;
  if (!Array.isArray(domains)) throw new IngestError("qubes.xml in the backup has no <qubes><domains> element; check that the backup was made by qvm-backup.");
  return asNodes(domains).map(domain);
}

/**
 * Qubes stores boolean features as "1" / "" (qubesd's Features coerces
 * True to "1"); older qubes.xml files, like the stock restore tests' fixture,
 * carry "True". Qubes' restore reads the feature as truthy, so any non-empty
 * value other than an explicit false counts.
 */
function isTrueFeature(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "False" && value !== "0";
}
