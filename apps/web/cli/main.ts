/**
 * `qubes-dedup`: the backup qube's command line. Thin: parses arguments and
 * calls @qubes-dedup/service, like the web app does.
 */
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { openDatabase, defaultDatabaseUrl, type Database } from "@qubes-dedup/db";
import { addRepository, listSnapshots, reindex, runBackup, runDump, snapshotJson } from "@qubes-dedup/service";
import { readOrCreateToken, rotateToken, tokenFile } from "../src/server/token.ts";
import { formatBytes } from "./format.ts";
import { USAGE, UsageError } from "./usage.ts";

const common = {
  repo: { type: "string", default: "default" },
  db: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], extra: T = {} as T) {
  try {
    return parseArgs({ args, options: { ...common, ...extra } as typeof common & T, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function dbUrl(dbPath: string | undefined): string {
  return dbPath ? `file:${path.resolve(dbPath.startsWith("file:") ? dbPath.slice(5) : dbPath)}` : defaultDatabaseUrl();
}

async function withDb<T>(dbPath: string | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(dbUrl(dbPath));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function cmdRepo(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === "add") {
    const { values, positionals } = parse(rest, {
      engine: { type: "string" },
      location: { type: "string" },
      "password-file": { type: "string" },
    } as const);
    const [name, ...more] = positionals;
    if (!name || more.length) throw new UsageError("repo add takes exactly one <name>");
    if (!values.engine || !values.location || !values["password-file"])
      throw new UsageError("repo add needs --engine, --location and --password-file");
    await withDb(values.db as string | undefined, async (db) => {
      const repo = await addRepository(db, {
        name,
        engine: values.engine as "restic" | "borg",
        location: values.location as string,
        passwordFile: values["password-file"] as string,
      });
      process.stderr.write(`qubes-dedup: repository "${repo.name}" (${repo.engine}) at ${repo.location} is ready\n`);
    });
    return;
  }
  if (sub === "list") {
    const { values, positionals } = parse(rest);
    if (positionals.length) throw new UsageError("repo list takes no arguments");
    await withDb(values.db as string | undefined, async (db) => {
      const repos = await db.prisma.repository.findMany({ orderBy: { name: "asc" } });
      if (values.json) process.stdout.write(`${JSON.stringify(repos.map(({ passwordFile, ...r }) => r))}\n`);
      else for (const r of repos) process.stdout.write(`${r.name}\t${r.engine}\t${r.location}\n`);
    });
    return;
  }
  throw new UsageError(sub ? `unknown repo command "${sub}"` : "repo needs a command: add or list");
}

/**
 * An AbortSignal that SIGINT or SIGTERM fires: the running job then stops its
 * engines the way that releases their repository locks, and fails.
 */
function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  // `on`, not `once`: execa's exit hook (signal-exit) re-raises a signal that
  // no other listener is left to handle, which would kill us mid-stop and
  // SIGTERM restic, which then leaves its lock behind
  process.on("SIGTERM", () => ac.abort(new Error("stopped by SIGTERM")));
  process.on("SIGINT", () => ac.abort(new Error("stopped by SIGINT")));
  return ac.signal;
}

async function cmdIngest(args: string[]): Promise<void> {
  const { values, positionals } = parse(args);
  if (positionals.length) throw new UsageError("ingest takes no arguments: the stream comes on stdin");
  if (process.stdin.isTTY) throw new UsageError("ingest reads a Qubes backup stream on stdin; pipe one in (dom0 does, through qubes.Backup)");
  const signal = abortOnSignals();
  await withDb(values.db as string | undefined, async (db) => {
    const r = await runBackup(db, { repository: values.repo as string, input: process.stdin, signal });
    for (const w of r.ingest.warnings) process.stderr.write(`qubes-dedup: warning: ${w}\n`);
    process.stderr.write(
      `qubes-dedup: stored snapshot ${r.ingest.snapshotId}: ${r.ingest.qubes.length} qubes, ${formatBytes(r.ingest.logicalBytes)} read, ${formatBytes(r.ingest.addedBytes)} added\n`,
    );
  });
}

async function cmdDump(args: string[]): Promise<void> {
  const { values, positionals } = parse(args);
  const [snapshot, ...more] = positionals;
  if (!snapshot || more.length) throw new UsageError("dump takes exactly one <snapshot>");
  // A reader that stops early (qvm-backup-restore does) is a normal end.
  process.stdout.on("error", () => {});
  const signal = abortOnSignals();
  await withDb(values.db as string | undefined, (db) => runDump(db, { repository: values.repo as string, snapshot, output: process.stdout, signal }));
}

async function cmdSnapshots(args: string[]): Promise<void> {
  const { values, positionals } = parse(args);
  if (positionals.length) throw new UsageError("snapshots takes no arguments");
  await withDb(values.db as string | undefined, async (db) => {
    const snaps = (await listSnapshots(db, values.repo as string)).map(snapshotJson);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(snaps)}\n`);
      return;
    }
    if (!snaps.length) {
      process.stdout.write(`no snapshots in "${values.repo}" yet: run a backup from dom0 (qubes-dedup-agent backup)\n`);
      return;
    }
    process.stdout.write("ID        TIME                 QUBES  LOGICAL     NEW DATA    RATIO\n");
    for (const s of snaps) {
      process.stdout.write(
        `${s.id.slice(0, 8).padEnd(10)}${s.time.toISOString().slice(0, 19).replace("T", " ").padEnd(21)}${String(s.qubes.length).padEnd(7)}${formatBytes(s.logicalBytes).padEnd(12)}${formatBytes(s.addedBytes).padEnd(12)}${s.dedupRatio === null ? "-" : `${s.dedupRatio.toFixed(2)}x`}${s.compressed ? "  (compressed)" : ""}\n`,
      );
    }
  });
}

async function cmdReindex(args: string[]): Promise<void> {
  const { values, positionals } = parse(args);
  if (positionals.length) throw new UsageError("reindex takes no arguments");
  await withDb(values.db as string | undefined, async (db) => {
    const r = await reindex(db, values.repo as string);
    process.stderr.write(
      `qubes-dedup: index of "${values.repo}" rebuilt from the repository: ${r.added} added, ${r.kept} already indexed, ${r.removed} removed (gone from the repository)\n`,
    );
    if (r.partial.length) process.stderr.write(`qubes-dedup: warning: ${r.partial.length} backups predate stored summaries, so their qubes are not listed: ${r.partial.join(", ")}\n`);
  });
}

async function cmdWebToken(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { rotate: { type: "boolean", default: false } } as const);
  if (positionals.length) throw new UsageError("web-token takes no arguments");
  const file = tokenFile(dbUrl(values.db as string | undefined));
  const token = values.rotate ? rotateToken(file) : readOrCreateToken(file);
  process.stdout.write(`${token}\n`);
  if (values.rotate) process.stderr.write("qubes-dedup: the dashboard token was replaced; open browsers must sign in again\n");
}

const commands: Record<string, (args: string[]) => Promise<void>> = {
  repo: cmdRepo,
  ingest: cmdIngest,
  dump: cmdDump,
  snapshots: cmdSnapshots,
  "web-token": cmdWebToken,
  reindex: cmdReindex,
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    process[cmd ? "stdout" : "stderr"].write(USAGE);
    return cmd ? 0 : 2;
  }
  const run = commands[cmd];
  try {
    if (!run) throw new UsageError(`unknown command "${cmd}"`);
    if (rest.includes("-h") || rest.includes("--help")) {
      process.stdout.write(USAGE);
      return 0;
    }
    await run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`qubes-dedup: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`qubes-dedup: ${(e as Error).message}\n`);
    if (process.env.QUBES_DEDUP_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
