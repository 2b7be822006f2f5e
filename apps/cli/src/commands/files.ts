/**
 * `qubes-dedup files ls|get`: browse a qube's volume in a snapshot and copy
 * files out, the filesystem read in a sandbox (service openVolume). Names
 * from the volume are printed escaped, never as they are.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { downloadToFile, escapeName, parseQubeVolume, withVolume, type Entry } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

/** One listing line: kind, size (bytes), mtime (UTC), the escaped name (`/` after a directory, `-> target` not resolved). */
export function entryLine(e: Entry): string {
  const kind = { file: "-", dir: "d", symlink: "l", other: "?" }[e.kind];
  const size = e.size === undefined ? "-" : String(e.size);
  const time = e.mtime === undefined ? "-".padEnd(19) : new Date(e.mtime * 1000).toISOString().slice(0, 19).replace("T", " ");
  return `${kind} ${size.padStart(12)}  ${time}  ${e.display}${e.kind === "dir" ? "/" : ""}`;
}

function maxBytes(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--max-bytes ${v} is not a positive number of bytes; give e.g. 1073741824.`);
  return n;
}

export function registerFiles(program: Command): void {
  const files = program.command("files").usage("ls|get|find ...").description("browse a qube's volume in a snapshot and copy files out (read in a sandbox)");
  const ls = files
    .command("ls")
    .usage("[--repo NAME] [--json] <snapshot> <qube>[:volume] [path]")
    .description("list a directory of a qube's volume (private by default, or root) in a snapshot")
    .argument("<snapshot>", 'an id or unique prefix from "snapshots", or latest')
    .argument("<qube>", "a qube, optionally :private or :root")
    .argument("[path]", "a directory in the volume", "/")
    .option("--json", "one JSON object on stdout (names escaped in display)")
    .action(async (snapshot: string, spec: string, dir: string, o: { json?: boolean }, cmd: Command) => {
      const { repo, db: dbPath } = globals(cmd);
      const { qube, volume } = parseQubeVolume(spec);
      const l = await withDb(dbPath, (db) => withVolume(db, { repository: repo, snapshot, qube, volume }, (v) => v.browser.list(dir)));
      if (o.json) process.stdout.write(`${JSON.stringify({ ...l, entries: l.entries.map(({ name: _n, ...e }) => e) })}\n`);
      else for (const e of l.entries) process.stdout.write(`${entryLine(e)}\n`);
      if (l.total > l.entries.length) process.stderr.write(`qubes-dedup: showing the first ${l.entries.length} of ${l.total} entries of ${escapeName(l.path)}.\n`);
    });
  const get = files
    .command("get")
    .usage("[--repo NAME] [--max-bytes N] <snapshot> <qube>[:volume] <path> [-o OUT]")
    .description("copy a file (a directory comes as a tar archive) out of a qube's volume in a snapshot")
    .argument("<snapshot>", 'an id or unique prefix from "snapshots", or latest')
    .argument("<qube>", "a qube, optionally :private or :root")
    .argument("<path>", "a file or directory in the volume")
    .option("-o, --output <file>", "where to write it (default: its name, .tar for a directory, in the current directory); - for stdout")
    .option("--max-bytes <n>", "largest download in bytes", maxBytes, 1 << 30)
    .action(async (snapshot: string, spec: string, file: string, o: { output?: string; maxBytes: number }, cmd: Command) => {
      const { repo, db: dbPath } = globals(cmd);
      const { qube, volume } = parseQubeVolume(spec);
      await withDb(dbPath, (db) =>
        withVolume(db, { repository: repo, snapshot, qube, volume }, async (v) => {
          if (o.output === "-") return void (await v.browser.download(file, process.stdout));
          const r = await v.browser.resolve(file);
          const name = r.names.at(-1);
          const out = o.output ?? defaultOutput(name, r.kind === "dir");
          if (fs.existsSync(out)) throw new Error(`${out} already exists; choose another name with -o.`);
          const got = await downloadToFile(v.browser, file, out);
          process.stderr.write(`qubes-dedup: wrote ${got.bytes} bytes to ${out}${got.kind === "tar" ? " (a tar archive of the directory)" : ""}.\n`);
        }, { maxDownloadBytes: o.maxBytes }),
      );
    });
  const find = files
    .command("find")
    .usage("[--repo NAME] <snapshot> <qube>[:volume] <name> [path]")
    .description("find entries whose name contains <name> (any case) under a directory of a qube's volume in a snapshot")
    .argument("<snapshot>", 'an id or unique prefix from "snapshots", or latest')
    .argument("<qube>", "a qube, optionally :private or :root")
    .argument("<name>", "part of the name")
    .argument("[path]", "the directory to search", "/")
    .action(async (snapshot: string, spec: string, needle: string, dir: string, _o: unknown, cmd: Command) => {
      const { repo, db: dbPath } = globals(cmd);
      const { qube, volume } = parseQubeVolume(spec);
      const r = await withDb(dbPath, (db) => withVolume(db, { repository: repo, snapshot, qube, volume }, (v) => v.browser.search(needle, dir)));
      for (const h of r.hits) process.stdout.write(`${entryLine({ ...h, display: h.displayPath })}\n`);
      if (!r.complete) process.stderr.write(`qubes-dedup: the search stopped after ${r.hits.length} hits or its directory limit; search in a subdirectory for more.\n`);
    });
  mistakes(find, { "commander.missingArgument": "files find takes <snapshot> <qube>[:volume] <name> [path]", "commander.excessArguments": "files find takes <snapshot> <qube>[:volume] <name> [path]" });
  mistakes(ls, { "commander.missingArgument": "files ls takes <snapshot> <qube>[:volume] [path]", "commander.excessArguments": "files ls takes <snapshot> <qube>[:volume] [path]" });
  mistakes(get, { "commander.missingArgument": "files get takes <snapshot> <qube>[:volume] <path>", "commander.excessArguments": "files get takes <snapshot> <qube>[:volume] <path>" });
}

/** The file's own name in the current directory, unless the volume's name is one a shell or terminal would act on. */
function defaultOutput(name: string | undefined, dir: boolean): string {
  if (!name) return "root.tar";
  if (escapeName(name) !== name || name.startsWith("-")) throw new Error(`the name ${escapeName(name)} holds characters a terminal or shell would act on; give the output file with -o.`);
  return path.join(".", dir ? `${name}.tar` : name);
}
