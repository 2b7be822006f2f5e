/**
 * Lays out the files of the backup-qube package (the .deb for Debian
 * templates; the same tree serves an .rpm) under a staging root and prints
 * every non-directory path in it, one per line, sorted.
 * usage: npx tsx tools/package/template-files.ts <stage-dir>
 * Needs the built CLI (apps/cli/dist), dashboard (apps/web/.next/standalone,
 * output: "standalone") and shim (libs/shim/dist/scrypt).
 *
 * Layout, all under /usr/lib/qubes-dedup/ but the entry points:
 *   qubes-dedup.mjs, node_modules/…  the CLI bundle and its runtime packages
 *                                    (tools/runtime-externals.mjs)
 *   web/                             the dashboard's standalone server, its
 *                                    traced node_modules and .next/static
 *   env.sh, qubes-dedup-web, qubes-dedup-open   packaging/template/
 *   bin/scrypt                       the shim, for paranoid-mode disposables
 *   /etc/qubes-rpc/qubes-dedup.ReadFilesystem  the service a disposable qube
 *                                    runs to read a volume's filesystem
 *   /usr/bin/qubes-dedup, the systemd user unit, the .desktop entry, and
 *   /etc/profile.d/qubes-dedup.sh, which puts bin/ first on PATH in the
 *   disposable of a paranoid-mode restore only (a plain file, not a
 *   conffile: it is code, and removing the package must remove it)
 * Left out everywhere: source maps, TypeScript sources and declarations,
 * test directories, and prebuilt binaries for musl (templates are glibc).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runtimePackages } from "../runtime-externals.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = path.join(ROOT, "packaging/template");
const LIB = "/usr/lib/qubes-dedup";
const WEB_BUILD = path.join(ROOT, "apps/web/.next");

/** A file or directory that a package must not carry. */
function unwanted(name: string, isDir: boolean): boolean {
  if (isDir) return /^(test|tests|__tests__|\.bin)$/.test(name) || /-musl$/.test(name);
  return /\.(map|ts|tsx|mts|cts)$/.test(name);
}

/** Copies the tree `from` to `to` without unwanted entries; files keep their exec bit, as 0755 or 0644. */
function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (unwanted(e.name, e.isDirectory())) continue;
    if (e.isDirectory()) copyTree(src, dst);
    else if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else put(src, dst, fs.statSync(src).mode & 0o111 ? 0o755 : 0o644);
  }
}

function put(src: string, dst: string, mode: number): void {
  fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, mode);
}

function need(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: build ${what} first (npm run package builds it).`);
  return file;
}

const [stage] = process.argv.slice(2);
if (!stage) {
  console.error("usage: npx tsx tools/package/template-files.ts <stage-dir>");
  process.exit(2);
}
const at = (p: string) => path.join(stage, p);
fs.rmSync(stage, { recursive: true, force: true });

put(need(path.join(ROOT, "apps/cli/dist/qubes-dedup.mjs"), "the CLI"), at(`${LIB}/qubes-dedup.mjs`), 0o755);
for (const p of runtimePackages(ROOT)) copyTree(p.dir, at(`${LIB}/${path.relative(ROOT, p.dir)}`));
need(path.join(WEB_BUILD, "standalone/apps/web/server.js"), "the dashboard (next build, output: standalone)");
copyTree(path.join(WEB_BUILD, "standalone"), at(`${LIB}/web`));
copyTree(path.join(WEB_BUILD, "static"), at(`${LIB}/web/apps/web/.next/static`));
if (fs.existsSync(path.join(ROOT, "apps/web/public"))) copyTree(path.join(ROOT, "apps/web/public"), at(`${LIB}/web/apps/web/public`));
put(need(path.join(ROOT, "libs/shim/dist/scrypt"), "the shim"), at(`${LIB}/bin/scrypt`), 0o755);

put(path.join(SRC, "env.sh"), at(`${LIB}/env.sh`), 0o644);
for (const f of ["qubes-dedup-web", "qubes-dedup-open"]) put(path.join(SRC, f), at(`${LIB}/${f}`), 0o755);
put(path.join(SRC, "qubes-dedup"), at("/usr/bin/qubes-dedup"), 0o755);
put(path.join(SRC, "qubes-dedup-web.service"), at("/usr/lib/systemd/user/qubes-dedup-web.service"), 0o644);
put(path.join(SRC, "qubes-dedup.desktop"), at("/usr/share/applications/qubes-dedup.desktop"), 0o644);
put(path.join(SRC, "profile.d-qubes-dedup.sh"), at("/etc/profile.d/qubes-dedup.sh"), 0o644);
// run in the disposable qube of a single-file restore (libs/files QrexecTransport; its template has this package)
put(path.join(SRC, "qubes-rpc/qubes-dedup.ReadFilesystem"), at("/etc/qubes-rpc/qubes-dedup.ReadFilesystem"), 0o755);
put(path.join(ROOT, "docs/INSTALL-QUBES.md"), at("/usr/share/doc/qubes-dedup/INSTALL-QUBES.md"), 0o644);

/** Every non-directory path under the stage, as a system path. */
function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : [`/${path.relative(stage, full)}`];
  });
}
process.stdout.write(`${files(stage).sort().join("\n")}\n`);
