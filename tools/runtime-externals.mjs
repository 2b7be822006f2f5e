#!/usr/bin/env node
// The one list of npm packages that the bundled backup-qube CLI and the
// dashboard load from node_modules at run time instead of bundling them:
// bundlers mark them external (tools/bundle.mjs --runtime-externals,
// apps/web/next.config.ts), and a package ships them next to the bundle
// with what they depend on (`runtimePackages`).
//
// usage: node tools/runtime-externals.mjs [--json]
//   prints the packages to ship, one per line: name, version, directory.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Packages kept out of the bundles. libsql is the index db's driver: an
 * N-API addon (one build serves Node 20 and 22) whose loader picks its
 * prebuilt binary package (`@libsql/linux-x64-gnu`) at run time, which no
 * bundler can follow.
 */
export const runtimeExternals = ["libsql"];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Directory of `name` as Node resolves it from `fromDir` (walking up node_modules), or null. */
function packageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === path.dirname(dir)) return null;
  }
}

/**
 * Whether an optional dependency (a prebuilt binary for one platform) is for
 * the machines we ship to: Qubes templates (Debian, Fedora) are x86_64 with
 * glibc. npm installs the musl build too (its package.json names no `libc`),
 * so musl is told by the `libc` field or the name's `-musl` suffix.
 */
function forTarget(pkg) {
  const allows = (list, value) => !list || list.includes(value);
  const musl = pkg.libc?.includes("musl") || /-musl(eabihf)?$/.test(pkg.name);
  return allows(pkg.os, "linux") && allows(pkg.cpu, "x64") && !musl;
}

/**
 * The installed packages a bundle needs next to it: `runtimeExternals` and
 * everything they depend on (dependencies, and the optional ones installed
 * here for linux-x64-glibc, such as the prebuilt binary), each once.
 * @param from workspace root whose node_modules is read.
 * @returns [{ name, version, dir }] sorted by name; `dir` is absolute.
 * @throws Error when a required (non-optional) dependency is not installed.
 */
export function runtimePackages(from = root) {
  const found = new Map();
  const visit = (name, fromDir, optional) => {
    const dir = packageDir(name, fromDir);
    if (!dir) {
      if (optional) return;
      throw new Error(`runtime package ${name} is not installed under ${fromDir}: run npm install in ${from}`);
    }
    if (found.has(dir)) return;
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    if (optional && !forTarget(pkg)) return;
    found.set(dir, { name: pkg.name, version: pkg.version, dir });
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of runtimeExternals) visit(name, from, false);
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name) || a.dir.localeCompare(b.dir));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const pkgs = runtimePackages();
  if (process.argv.includes("--json")) console.log(JSON.stringify(pkgs, null, 2));
  else for (const p of pkgs) console.log(`${p.name}\t${p.version}\t${path.relative(root, p.dir)}`);
}
