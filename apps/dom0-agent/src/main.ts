/**
 * `qubes-dedup-agent`: the dom0 CLI (bundled to dist/qubes-dedup-agent.mjs).
 * Usage errors (unknown flags, missing arguments, invalid names given on the
 * command line) print one sentence plus the usage text and exit 2; other
 * failures print `qubes-dedup-agent: <message>` and exit 1, or the exit
 * status of qvm-backup / qvm-backup-restore.
 */
import fs from "node:fs";
import path from "node:path";
import { builtShimPath, shimDirForRuns } from "./shim-path.ts";
import { loadConfig, underRoot } from "./config.ts";
import { backupArgs, checkPassphraseFile, finishedLine, restoreArgs, runWithShim } from "./runs.ts";
import { install, status, uninstall } from "./install.ts";
import { doctor, formatCheck } from "./doctor.ts";
import { writeNewSecret } from "./secret.ts";
import { UsageError, parseCommandLine, type Options } from "./args.ts";
import { ValidationError, qubeName, repoName, snapshotId } from "./validate.ts";

export const USAGE = `usage: qubes-dedup-agent <command> [options]
  backup [--repo NAME] [--dest-vm VM] [--exclude QUBE]... [--passphrase-file F] [--root DIR] [QUBE...]
  restore SNAPSHOT [--repo NAME] [--dest-vm VM] [--verify-only] [--rename-conflicting | --skip-conflicting]
          [--exclude QUBE]... [--passphrase-file F] [--root DIR] [QUBE...]
  shim install|uninstall|status [--root DIR]
  shim path [--root DIR]
  secret new --out FILE [--root DIR]
  doctor [--root DIR]
  policy install|uninstall|status [--root DIR]
  rpc backup|restore [--root DIR]   (run by qrexec for qubes.DedupBackup / qubes.DedupRestore)
  help                     show this text
Defaults come from <root>/etc/qubes-dedup/agent.json (destVm "backup", passphraseFile /etc/qubes-dedup/passphrase).
With --root DIR, system paths (the config's, secret new's --out) are taken inside DIR.
`;

const ROOT: Options = { root: { type: "string", default: "/" } };
const RUN: Options = {
  ...ROOT,
  repo: { type: "string" },
  "dest-vm": { type: "string" },
  exclude: { type: "string", multiple: true, default: [] },
  "passphrase-file": { type: "string" },
};

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Checks the names given on the command line, so a bad one is a usage error (exit 2). */
function checkCliNames(values: Record<string, unknown>, qubes: string[], snapshot?: string): void {
  try {
    if (snapshot !== undefined) snapshotId(snapshot);
    const repo = str(values.repo);
    if (repo !== undefined) repoName(repo);
    const dest = str(values["dest-vm"]);
    if (dest !== undefined) qubeName(dest, "backup qube");
    for (const q of values.exclude as string[]) qubeName(q, "excluded qube");
    for (const q of qubes) qubeName(q);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(e.message);
    throw e;
  }
}

/** The passphrase file: the flag as given, else the config's under --root. */
function passphraseOf(values: Record<string, unknown>, root: string, configured: string): string {
  return str(values["passphrase-file"]) ?? underRoot(root, configured);
}

async function backup(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(args, RUN, "backup");
  checkCliNames(values, positionals);
  const root = str(values.root)!;
  const cfg = loadConfig(root);
  const passphraseFile = passphraseOf(values, root, cfg.passphraseFile);
  const argv = backupArgs({
    destVm: str(values["dest-vm"]) ?? cfg.destVm,
    passphraseFile,
    repo: str(values.repo) ?? cfg.repo,
    exclude: values.exclude as string[],
    qubes: positionals,
  });
  checkPassphraseFile(passphraseFile);
  const run = await runWithShim("qvm-backup", argv, shimDirForRuns(root));
  // qvm-backup's last progress update ends in "\r", not a newline.
  process.stderr.write(`${run.started ? "\n" : ""}qubes-dedup-agent: ${finishedLine("backup", "qvm-backup", run)}\n`);
  return run.exitCode;
}

async function restore(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    args,
    { ...RUN, "verify-only": { type: "boolean", default: false }, "rename-conflicting": { type: "boolean", default: false }, "skip-conflicting": { type: "boolean", default: false } },
    "restore",
  );
  const [snapshot, ...qubes] = positionals;
  if (snapshot === undefined) throw new UsageError("restore needs a SNAPSHOT");
  if (values["rename-conflicting"] && values["skip-conflicting"]) throw new UsageError("--rename-conflicting and --skip-conflicting exclude each other");
  checkCliNames(values, qubes, snapshot);
  const root = str(values.root)!;
  const cfg = loadConfig(root);
  const passphraseFile = passphraseOf(values, root, cfg.passphraseFile);
  const verifyOnly = values["verify-only"] === true;
  const argv = restoreArgs({
    snapshot,
    sourceVm: str(values["dest-vm"]) ?? cfg.destVm,
    passphraseFile,
    repo: str(values.repo) ?? cfg.repo,
    verifyOnly,
    conflicts: values["rename-conflicting"] ? "rename" : values["skip-conflicting"] ? "skip" : undefined,
    exclude: values.exclude as string[],
    qubes,
  });
  checkPassphraseFile(passphraseFile);
  const run = await runWithShim("qvm-backup-restore", argv, shimDirForRuns(root));
  process.stderr.write(`qubes-dedup-agent: ${finishedLine("restore", "qvm-backup-restore", run, verifyOnly)}\n`);
  return run.exitCode;
}

function print(lines: string[]): void {
  for (const l of lines) process.stdout.write(`${l}\n`);
}

async function shim(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "path") {
    // --root is accepted as everywhere (README), though the built shim does not depend on it.
    const { positionals } = parseCommandLine(rest, ROOT, "shim path");
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const p = builtShimPath();
    print([p]);
    if (fs.existsSync(p)) return 0;
    process.stderr.write(`qubes-dedup-agent: the shim is not built at ${p}; run \`npx nx build @qubes-dedup/shim\`.\n`);
    return 1;
  }
  if (sub !== "install" && sub !== "uninstall" && sub !== "status") {
    throw new UsageError(sub === undefined ? "shim needs install, uninstall, status or path" : `unknown shim command ${sub}`);
  }
  const { values, positionals } = parseCommandLine(rest, ROOT, `shim ${sub}`);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const root = str(values.root)!;
  if (sub === "install") return print(install(root)), 0;
  if (sub === "uninstall") return print(uninstall(root)), 0;
  const s = status(root);
  print(s.lines);
  return s.ok ? 0 : 1;
}

async function secret(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "new") throw new UsageError(sub === undefined ? "secret needs new" : `unknown secret command ${sub}`);
  const { values, positionals } = parseCommandLine(rest, { out: { type: "string" }, root: { type: "string" } }, "secret new");
  const out = str(values.out);
  if (!out || positionals.length) throw new UsageError("secret new needs --out FILE and nothing else");
  const root = str(values.root);
  if (root !== undefined && !path.isAbsolute(out)) throw new UsageError(`with --root, --out must be a system path starting with "/", such as /etc/qubes-dedup/passphrase`);
  // Like every system path, --out lies inside --root; without --root it is taken as given.
  const file = root === undefined ? out : underRoot(root, out);
  const pass = writeNewSecret(file);
  process.stderr.write(`wrote a new passphrase to ${file} (mode 0600); write it down now as your recovery code, it is shown only once:\n`);
  print([pass]);
  return 0;
}

async function doctorCmd(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(args, ROOT, "doctor");
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const checks = await doctor(str(values.root)!);
  print(checks.map(formatCheck));
  return checks.some((c) => c.state === "FAIL") ? 1 : 0;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = { backup, restore, shim, secret, doctor: doctorCmd };

/** Runs the CLI on `argv` (without node and script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const run = cmd === undefined ? undefined : COMMANDS[cmd];
    if (!run) throw new UsageError(cmd === undefined ? "missing command" : `unknown command ${cmd}`);
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`qubes-dedup-agent: ${e.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`qubes-dedup-agent: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
