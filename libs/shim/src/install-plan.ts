/**
 * The pure install plan of the shim: which directories and files
 * `qubes-dedup-agent shim install` creates, and the file operations that
 * install and uninstall perform, computed from an observation of the
 * current state. The agent does the I/O. Paths are system paths ("/usr/…");
 * the agent prefixes them with its `--root`.
 *
 * Layout: the shim goes into its own directory (never /usr/bin/scrypt,
 * which a dom0 update may replace) and a systemd drop-in puts that directory
 * first on qubesd's PATH, since qubesd runs `scrypt` for backups.
 */

/** Directory that holds the installed shim (and nothing else on PATH). */
export const SHIM_DIR = "/usr/lib/qubes-dedup/bin";
/** The installed shim. */
export const SHIM_FILE = `${SHIM_DIR}/scrypt`;
/** Names the real scrypt for the installed shim (read by the shim at run time). */
export const REAL_SCRYPT_FILE = `${SHIM_DIR}/real-scrypt`;
/** systemd drop-in for qubesd.service. */
export const DROP_IN_FILE = "/etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf";
/** Records what install created, so that uninstall restores exactly. */
export const MANIFEST_FILE = "/usr/lib/qubes-dedup/install-manifest.json";
/** systemd's default PATH for system services, after which the shim comes first. */
export const SYSTEMD_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

/** A file the install wants, with its exact content and mode. */
export interface WantedFile {
  path: string;
  mode: number;
  content: Buffer;
}

/** What a path is right now, as observed by the caller. */
export type PathState = { kind: "missing" } | { kind: "dir" } | { kind: "file"; mode: number; content: Buffer };

/** One file operation; `rmdir` removes a directory only when it is empty. */
export type InstallOp =
  | { op: "mkdir"; path: string; mode: number }
  | { op: "write"; path: string; mode: number; content: Buffer }
  | { op: "chmod"; path: string; mode: number }
  | { op: "remove"; path: string }
  | { op: "rmdir"; path: string };

/** The content of the install manifest. */
export interface Manifest {
  version: 1;
  /** Directories install created, parents first. */
  createdDirs: string[];
  /** Files install wrote (the manifest itself excluded). */
  files: string[];
}

/** Raised when install would overwrite a file that qubes-dedup did not write. */
export class InstallConflictError extends Error {
  override name = "InstallConflictError";
}

/** The systemd drop-in text: PATH with the shim directory first. */
export function dropInText(): string {
  return [
    "# Written by `qubes-dedup-agent shim install`; removed by `shim uninstall`.",
    "# Puts the qubes-dedup scrypt shim first on qubesd's PATH; /usr/bin/scrypt is untouched.",
    "[Service]",
    `Environment=PATH=${SHIM_DIR}:${SYSTEMD_DEFAULT_PATH}`,
    "",
  ].join("\n");
}

/**
 * The files of an install. `shim` is the built shim (dist/scrypt);
 * `realScrypt` the system path of the real scrypt (default /usr/bin/scrypt).
 */
export function wantedFiles(shim: Buffer, realScrypt = "/usr/bin/scrypt"): WantedFile[] {
  return [
    { path: SHIM_FILE, mode: 0o755, content: shim },
    { path: REAL_SCRYPT_FILE, mode: 0o644, content: Buffer.from(`${realScrypt}\n`) },
    { path: DROP_IN_FILE, mode: 0o644, content: Buffer.from(dropInText()) },
  ];
}

/** Every ancestor directory of `file`, outermost first, "/" excluded. */
function ancestors(file: string): string[] {
  const parts = file.split("/").filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join("/")}`);
  return out;
}

/** Parses a manifest file's content; null when absent or unreadable. */
export function parseManifest(state: PathState): Manifest | null {
  if (state.kind !== "file") return null;
  try {
    const m = JSON.parse(state.content.toString("utf8")) as Manifest;
    if (m.version !== 1 || !Array.isArray(m.createdDirs) || !Array.isArray(m.files)) return null;
    return m;
  } catch {
    return null;
  }
}

/**
 * Operations that bring the system to the installed state; empty when it is
 * already there (install is idempotent).
 * @throws InstallConflictError when a wanted path holds a file or directory
 *   that a previous install did not write.
 */
export function planInstall(wanted: WantedFile[], observe: (path: string) => PathState): InstallOp[] {
  const previous = parseManifest(observe(MANIFEST_FILE));
  const ours = new Set(previous?.files ?? []);
  const created = [...(previous?.createdDirs ?? [])];
  const ops: InstallOp[] = [];
  const seen = new Set<string>();
  for (const dir of [...wanted.map((f) => f.path), MANIFEST_FILE].flatMap(ancestors)) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    const st = observe(dir);
    if (st.kind === "dir") continue;
    if (st.kind === "file") throw new InstallConflictError(`${dir} is a file where qubes-dedup needs a directory; move it away and run install again.`);
    ops.push({ op: "mkdir", path: dir, mode: 0o755 });
    if (!created.includes(dir)) created.push(dir);
  }
  for (const f of wanted) {
    const st = observe(f.path);
    if (st.kind === "dir") throw new InstallConflictError(`${f.path} is a directory where qubes-dedup needs a file; move it away and run install again.`);
    if (st.kind === "file" && !ours.has(f.path)) {
      throw new InstallConflictError(`${f.path} exists and was not written by qubes-dedup; move it away and run install again.`);
    }
    if (st.kind === "missing" || !st.content.equals(f.content)) ops.push({ op: "write", path: f.path, mode: f.mode, content: f.content });
    else if ((st.mode & 0o7777) !== f.mode) ops.push({ op: "chmod", path: f.path, mode: f.mode });
  }
  if (ops.length === 0 && previous) return [];
  const manifest: Manifest = { version: 1, createdDirs: created, files: wanted.map((f) => f.path) };
  const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const mst = observe(MANIFEST_FILE);
  if (mst.kind !== "file" || !mst.content.equals(text)) ops.push({ op: "write", path: MANIFEST_FILE, mode: 0o644, content: text });
  return ops;
}

/**
 * Operations that undo an install exactly: remove the files it wrote and the
 * manifest, then the directories it created, innermost first, when empty.
 * Empty when nothing is installed.
 */
export function planUninstall(observe: (path: string) => PathState): InstallOp[] {
  const m = parseManifest(observe(MANIFEST_FILE));
  if (!m) return [];
  const ops: InstallOp[] = [];
  for (const f of m.files) if (observe(f).kind === "file") ops.push({ op: "remove", path: f });
  ops.push({ op: "remove", path: MANIFEST_FILE });
  const dirs = [...m.createdDirs].sort((a, b) => b.length - a.length);
  for (const d of dirs) ops.push({ op: "rmdir", path: d });
  return ops;
}

/** One line of `shim status`. */
export interface StatusLine {
  path: string;
  state: "ok" | "missing" | "different" | "wrong mode";
}

/** Compares the system with the wanted files. Pure given `observe`. */
export function installStatus(wanted: WantedFile[], observe: (path: string) => PathState): StatusLine[] {
  return wanted.map((f) => {
    const st = observe(f.path);
    if (st.kind !== "file") return { path: f.path, state: "missing" };
    if (!st.content.equals(f.content)) return { path: f.path, state: "different" };
    if ((st.mode & 0o7777) !== f.mode) return { path: f.path, state: "wrong mode" };
    return { path: f.path, state: "ok" };
  });
}

/** A human-readable line for an operation (paths shown as system paths). */
export function describeOp(op: InstallOp): string {
  switch (op.op) {
    case "mkdir":
      return `created directory ${op.path}`;
    case "write":
      return `wrote ${op.path} (mode ${op.mode.toString(8).padStart(4, "0")}, ${op.content.length} bytes)`;
    case "chmod":
      return `set mode ${op.mode.toString(8).padStart(4, "0")} on ${op.path}`;
    case "remove":
      return `removed ${op.path}`;
    case "rmdir":
      return `removed directory ${op.path} (if empty)`;
  }
}
