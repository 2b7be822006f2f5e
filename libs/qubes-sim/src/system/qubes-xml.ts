/**
 * The Qubes 4 `qubes.xml` store: a small ordered model, a parser (via
 * fast-xml-parser) and a serializer. Format as in
 * shared/fixtures/qubes.xml (QubesOS/qubes-core-admin-client
 * qubesadmin/tests/backup/v4-qubes.xml): `<qubes>` with `<labels>`,
 * `<pools>`, `<properties>` and `<domains>`; each `<domain id class>` has
 * `<properties>`, `<features>`, `<tags>`, `<devices class>` and
 * `<volume-config>` with one `<volume …/>` per volume.
 */
import { XMLParser } from "fast-xml-parser";
import { SimError } from "../errors.ts";

/** One `<domain>` element. Properties and features keep document order. */
export interface Domain {
  /** The element's `id` attribute, e.g. `domain-3`. */
  id: string;
  /** The `class` attribute: AdminVM, TemplateVM, AppVM, StandaloneVM, DispVM. */
  klass: string;
  properties: [string, string][];
  features: [string, string][];
  tags: string[];
  /** `class` attributes of the (empty) `<devices>` elements. */
  devices: string[];
  /** Attributes of each `<volume>` in `<volume-config>`, in order. */
  volumes: Record<string, string>[];
}

/** The whole store. */
export interface QubesXml {
  labels: { id: string; color: string; name: string }[];
  pools: Record<string, string>[];
  properties: [string, string][];
  domains: Domain[];
}

const ARRAYS = new Set(["label", "pool", "property", "domain", "feature", "tag", "devices", "volume"]);

type Node = Record<string, unknown>;

function list(node: unknown, key: string): Node[] {
  if (!node || typeof node !== "object") return [];
  const v = (node as Node)[key];
  return Array.isArray(v) ? (v as Node[]) : [];
}

function text(n: Node): string {
  const t = n["#text"];
  return t === undefined ? "" : String(t);
}

function attrs(n: Node): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(n)) if (k.startsWith("@_")) out[k.slice(2)] = String(v);
  return out;
}

function pairs(container: unknown, key: string): [string, string][] {
  return list(container, key).map((n) => [attrs(n).name ?? "", text(n)]);
}

/**
 * Parses a `qubes.xml` document.
 * @throws SimError when the text is not XML with a `<qubes>` root.
 */
export function parseQubesXml(xml: string): QubesXml {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    alwaysCreateTextNode: true,
    isArray: (name) => ARRAYS.has(name),
  });
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (e) {
    throw new SimError(`qubes.xml is not valid XML (${(e as Error).message}); restore it from a backup or recreate the system.`);
  }
  const root = doc.qubes as Node | undefined;
  if (!root || typeof root !== "object") {
    throw new SimError("qubes.xml has no <qubes> root element; restore it from a backup or recreate the system.");
  }
  return {
    labels: list(root.labels, "label").map((n) => ({ id: attrs(n).id ?? "", color: attrs(n).color ?? "", name: text(n) })),
    pools: list(root.pools, "pool").map(attrs),
    properties: pairs(root.properties, "property"),
    domains: list(root.domains, "domain").map((d) => ({
      id: attrs(d).id ?? "",
      klass: attrs(d).class ?? "",
      properties: pairs(d.properties, "property"),
      features: pairs(d.features, "feature"),
      tags: list(d.tags, "tag").map((t) => attrs(t).name ?? ""),
      devices: list(d, "devices").map((t) => attrs(t).class ?? ""),
      volumes: list(d["volume-config"], "volume").map(attrs),
    })),
  };
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function attrText(a: Record<string, string>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join("");
}

function pairLines(tag: string, item: string, items: [string, string][], indent: string): string[] {
  if (items.length === 0) return [`${indent}<${tag}/>`];
  return [
    `${indent}<${tag}>`,
    ...items.map(([k, v]) => `${indent}  <${item} name="${esc(k)}">${esc(v)}</${item}>`),
    `${indent}</${tag}>`,
  ];
}

function domainLines(d: Domain): string[] {
  const i = "      ";
  const lines = [`    <domain id="${esc(d.id)}" class="${esc(d.klass)}">`];
  lines.push(...pairLines("properties", "property", d.properties, i));
  lines.push(...pairLines("features", "feature", d.features, i));
  lines.push(...d.devices.map((c) => `${i}<devices class="${esc(c)}"/>`));
  lines.push(d.tags.length ? `${i}<tags>` : `${i}<tags/>`);
  if (d.tags.length) lines.push(...d.tags.map((t) => `${i}  <tag name="${esc(t)}"/>`), `${i}</tags>`);
  if (d.volumes.length) {
    lines.push(`${i}<volume-config>`, ...d.volumes.map((v) => `${i}  <volume${attrText(v)}/>`), `${i}</volume-config>`);
  }
  lines.push("    </domain>");
  return lines;
}

/**
 * Serializes the model as qubesd writes `qubes.xml` (qubes-core-admin
 * qubes/app.py `Qubes.save`: lxml `ElementTree.write(encoding="utf-8",
 * pretty_print=True)`): UTF-8, no XML declaration (lxml writes none for
 * UTF-8), two-space indentation, empty elements as `<x/>`, domains in name
 * order (`app.domains` iterates VMs sorted by name, dom0 included).
 * Attributes and properties keep the model's order.
 */
export function serializeQubesXml(q: QubesXml): string {
  const lines = ["<qubes>", "  <labels>"];
  lines.push(...q.labels.map((l) => `    <label color="${esc(l.color)}" id="${esc(l.id)}">${esc(l.name)}</label>`));
  lines.push("  </labels>", "  <pools>", ...q.pools.map((p) => `    <pool${attrText(p)}/>`), "  </pools>");
  lines.push(...pairLines("properties", "property", q.properties, "  "));
  const domains = [...q.domains].sort((a, b) => (domainName(a) < domainName(b) ? -1 : domainName(a) > domainName(b) ? 1 : 0));
  lines.push("  <domains>", ...domains.flatMap(domainLines), "  </domains>", "</qubes>");
  return lines.join("\n") + "\n";
}

/** The value of a property in an ordered list, or undefined. */
export function getProp(items: [string, string][], name: string): string | undefined {
  return items.find(([k]) => k === name)?.[1];
}

/** Sets (replacing in place, or appending) a property in an ordered list. */
export function setProp(items: [string, string][], name: string, value: string): void {
  const hit = items.find(([k]) => k === name);
  if (hit) hit[1] = value;
  else items.push([name, value]);
}

/** Removes a property from an ordered list (no-op when absent). */
export function deleteProp(items: [string, string][], name: string): void {
  const i = items.findIndex(([k]) => k === name);
  if (i >= 0) items.splice(i, 1);
}

/** A domain's name; dom0 (class AdminVM) has no name property in the store. */
export function domainName(d: Domain): string {
  return getProp(d.properties, "name") ?? (d.klass === "AdminVM" ? "dom0" : "");
}

/** A domain's qid (dom0 is 0). */
export function domainQid(d: Domain): number {
  const q = getProp(d.properties, "qid");
  return q === undefined ? (d.klass === "AdminVM" ? 0 : -1) : Number(q);
}

/** Names of the volumes Qubes backs up: those with `save_on_stop="True"`. */
export function savedVolumes(d: Domain): string[] {
  return d.volumes.filter((v) => v.save_on_stop === "True" && v.name).map((v) => v.name!);
}
