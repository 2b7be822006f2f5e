/**
 * `qubes-dedup-agent`: the dom0 CLI (bundled to dist/qubes-dedup-agent.mjs).
 * Usage errors print the usage text and exit 2; other failures print
 * `qubes-dedup: <message>` and exit 1, or the exit status of qvm-backup /
 * qvm-backup-restore.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { builtShimPath, shimDirForRuns } from "./shim-path.ts";
import { loadConfig, underRoot } from "./config.ts";
import { backupArgs, checkPassphraseFile, restoreArgs, runWithShim } from "./runs.ts";
import { install, status, uninstall } from "./install.ts";
import { doctor, formatCheck } from "./doctor.ts";
import { writeNewSecret } from "./secret.ts";
import fs from "node:fs";

export const USAGE = `usage: qubes-dedup-agent <command> [options]
  backup [--repo NAME] [--dest-vm VM] [--exclude QUBE]... [--passphrase-file F] [--root DIR] [QUBE...]
  restore SNAPSHOT [--repo NAME] [--dest-vm VM] [--verify-only] [--rename-conflicting | --skip-conflicting]
          [--exclude QUBE]... [--passphrase-file F] [--root DIR] [QUBE...]
  shim install|uninstall|status [--root DIR]
  shim path
  secret new --out FILE
  doctor [--root DIR]
  policy install|uninstall|status [--root DIR]
  rpc backup|restore [--root DIR]   (run by qrexec for qubes.DedupBackup / qubes.DedupRestore)
  help                     show this text
Defaults come from <root>/etc/qubes-dedup/agent.json (destVm "backup", passphraseFile /etc/qubes-dedup/passphrase).
`;

/** Raised for a command-line mistake: usage text, exit 2. */
class UsageError extends Error {
  override name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;
const ROOT: Options = { root: { type: "string", default: "/" } };
const RUN: Options = {
  ...ROOT,
  repo: { type: "string" },
  "dest-vm": { type: "string" },
  exclude: { type: "string", multiple: true, default: [] },
  "passphrase-file": { type: "string" },
};

function parse(args: string[], options: Options) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The passphrase file: the flag as given, else the config's under --root. */
function passphraseOf(values: Record<string, unknown>, root: string, configured: string): string {
  return str(values["passphrase-file"]) ?? underRoot(root, configured);
}

async function backup(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUN);
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
  return runWithShim("qvm-backup", argv, shimDirForRuns(root));
}

async function restore(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...RUN,
    "verify-only": { type: "boolean", default: false },
    "rename-conflicting": { type: "boolean", default: false },
    "skip-conflicting": { type: "boolean", default: false },
  });
  const [snapshot, ...qubes] = positionals;
  if (snapshot === undefined) throw new UsageError("restore needs a SNAPSHOT");
  if (values["rename-conflicting"] && values["skip-conflicting"]) throw new UsageError("--rename-conflicting and --skip-conflicting exclude each other");
  const root = str(values.root)!;
  const cfg = loadConfig(root);
  const passphraseFile = passphraseOf(values, root, cfg.passphraseFile);
  const argv = restoreArgs({
    snapshot,
    sourceVm: str(values["dest-vm"]) ?? cfg.destVm,
    passphraseFile,
    repo: str(values.repo) ?? cfg.repo,
    verifyOnly: values["verify-only"] === true,
    conflicts: values["rename-conflicting"] ? "rename" : values["skip-conflicting"] ? "skip" : undefined,
    exclude: values.exclude as string[],
    qubes,
  });
  checkPassphraseFile(passphraseFile);
  return runWithShim("qvm-backup-restore", argv, shimDirForRuns(root));
}

function print(lines: string[]): void {
  for (const l of lines) process.stdout.write(`${l}\n`);
}

async function shim(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "path") {
    parse(rest, {});
    const p = builtShimPath();
    print([p]);
    if (fs.existsSync(p)) return 0;
    process.stderr.write(`qubes-dedup: the shim is not built at ${p}; run \`npx nx build @qubes-dedup/shim\`.\n`);
    return 1;
  }
  const { values, positionals } = parse(rest, ROOT);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const root = str(values.root)!;
  if (sub === "install") return print(install(root)), 0;
  if (sub === "uninstall") return print(uninstall(root)), 0;
  if (sub === "status") {
    const s = status(root);
    print(s.lines);
    return s.ok ? 0 : 1;
  }
  throw new UsageError(sub === undefined ? "shim needs install, uninstall, status or path" : `unknown shim command ${sub}`);
}

async function secret(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "new") throw new UsageError(sub === undefined ? "secret needs new" : `unknown secret command ${sub}`);
  const { values, positionals } = parse(rest, { out: { type: "string" } });
  const out = str(values.out);
  if (!out || positionals.length) throw new UsageError("secret new needs --out FILE and nothing else");
  const pass = writeNewSecret(out);
  process.stderr.write(`wrote a new passphrase to ${out} (mode 0600); write it down now as your recovery code, it is shown only once:\n`);
  print([pass]);
  return 0;
}

async function doctorCmd(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, ROOT);
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
