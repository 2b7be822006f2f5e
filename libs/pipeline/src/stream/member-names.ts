/**
 * Member names of the outer framing of a Qubes backup (format v4): the
 * header pair, then `<path>.NNN.enc` chunks of each file's inner stream
 * (qubes-core-admin `qubes/backup.py`: chunkfile = `<subdir><name>.%03d.enc`).
 */
export type MemberName =
  | { kind: "header" }
  | { kind: "hmac" }
  /** `file` is the path without `.NNN.enc`, e.g. `vm3/private.img` or `qubes.xml` */
  | { kind: "chunk"; file: string; index: number };

const CHUNK = /^(.+)\.(\d{3,})\.enc$/;
const SEGMENT = /^[A-Za-z0-9_.+@-]+$/;

/**
 * Validates and classifies an outer member name.
 * @returns the classification, or a string naming why the name is refused
 */
export function classifyName(name: string): MemberName | string {
  if (name === "backup-header") return { kind: "header" };
  if (name === "backup-header.hmac") return { kind: "hmac" };
  if (/[\x00-\x1f\x7f]/.test(name)) return "it contains control characters";
  if (name.startsWith("/")) return "it is an absolute path";
  const parts = name.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) return "it contains an empty, `.` or `..` component";
  if (!parts.every((p) => SEGMENT.test(p))) return "it contains characters outside [A-Za-z0-9_.+@-]";
  const m = CHUNK.exec(name);
  if (!m) return "it is not `backup-header`, `backup-header.hmac` or `<path>.NNN.enc`";
  const file = m[1] as string;
  if (file !== "qubes.xml" && parts.length < 2) return "a chunk outside a qube directory must be qubes.xml";
  return { kind: "chunk", file, index: Number(m[2]) };
}
