/**
 * The `qubes-dedup-agent` command tree (commander): every command, its
 * options and the help layout. Parsing only: commands.ts does the work,
 * main.ts prints and picks the exit code.
 */
import { Command, Help, Option } from "commander";
import { backup, doctorCmd, ledgerList, restore, secretNew, shim, shimPath, verify, type BackupOptions, type RestoreOptions, type RunOptions } from "./commands.ts";
import { UsageError, fromCommander, mistakes } from "./args.ts";
import { restorePoint } from "./point-command.ts";
import { registerRpc } from "./rpc/cli.ts";
import { ledgerPush, ledgerRebuild, type LedgerSyncOptions } from "./ledger-commands.ts";
import { deadmanCmd, type DeadmanOptions } from "./deadman.ts";

/** Sets the exit status of the command that ran. */
export type Done = (status: number) => void;

/** Every command of `cmd` and below, `cmd` first. */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/** "shim install [--root DIR]": a command's place in the tree and its synopsis. */
function synopsis(cmd: Command): string {
  const names = [cmd.name()];
  for (let c = cmd.parent; c?.parent; c = c.parent) names.unshift(c.name());
  return `${names.join(" ")} ${cmd.usage()}`;
}

const collect = (v: string, all: string[]) => [...all, v];

/** --root DIR, default "/" (`fallback`: none, for secret new). */
export function rootOption(fallback: string | undefined = "/"): Option {
  const o = new Option("--root <dir>", "take system paths inside DIR (a scratch dom0)");
  return fallback === undefined ? o : o.default(fallback);
}

/** The options backup and restore share. */
function runOptions(cmd: Command): Command {
  return cmd
    .option("--repo <name>", "repository (default: the config's repo)")
    .option("--dest-vm <vm>", "the backup qube (default: the config's destVm)")
    .option("--exclude <qube>", "leave this qube out (repeatable)", collect, [])
    .option("--passphrase-file <f>", "the passphrase (default: the config's passphraseFile)")
    .addOption(rootOption());
}

function registerRuns(program: Command, done: Done): void {
  runOptions(program.command("backup").usage("[--changed [--full]] [--repo NAME] [--dest-vm VM] [--exclude QUBE]... [--passphrase-file F] [--root DIR] [QUBE...]"))
    .description("back up qubes into the repository")
    .argument("[qubes...]")
    .option("--changed", "only the qubes whose data or settings changed since their last backup")
    .option("--full", "with --changed: every selected qube (a full backup)")
    .action(async (qubes: string[], o: BackupOptions) => done(await backup(qubes, o)));
  const r = runOptions(
    program
      .command("restore")
      .usage(
        "SNAPSHOT [--backup-id ID] [--repo NAME] [--dest-vm VM] [--verify-only] [--paranoid-mode] [--rename-conflicting | --skip-conflicting]\n          [--exclude QUBE]... [--passphrase-file F] [--root DIR] [QUBE...]\n       restore --point latest|BACKUP-ID|TIME [--repo NAME] [--dest-vm VM] [--rename-conflicting | --skip-conflicting] [--passphrase-file F] [--root DIR] [QUBE...]",
      ),
  )
    .description("restore qubes from a snapshot, or from a restore point (each qube's latest backup at or before the point)")
    .argument("[snapshot]")
    .argument("[qubes...]")
    .option("--point <point>", "restore a restore point: latest, a backup-id or a UTC time such as 2026-12-02T10:00:00Z (no SNAPSHOT then)")
    .option("--verify-only", "check every file, write nothing")
    .option("--paranoid-mode", "decrypt in a disposable qube, not in dom0 (its template needs the backup-qube package)")
    .addOption(new Option("--rename-conflicting", "restore a qube that exists under a new name").conflicts("skipConflicting"))
    .option("--skip-conflicting", "leave out qubes that exist")
    .option("--backup-id <id>", "the backup the snapshot holds, when it is not the newest in dom0's ledger")
    .action(async (snapshot: string | undefined, qubes: string[], o: RestoreOptions & { point?: string }) => {
      if (o.point !== undefined) return done(await restorePoint(o.point, [...(snapshot === undefined ? [] : [snapshot]), ...qubes], o));
      if (snapshot === undefined) throw new UsageError("restore needs a SNAPSHOT, or --point");
      done(await restore(snapshot, qubes, o));
    });
  program
    .command("verify")
    .usage("[BACKUP-ID] [--snapshot REF] [--repo NAME] [--dest-vm VM] [--passphrase-file F] [--root DIR]")
    .description("check a stored backup against dom0's ledger without restoring it")
    .argument("[backup-id]")
    .option("--snapshot <ref>", "the snapshot holding it (default: BACKUP-ID, or latest)")
    .option("--repo <name>", "repository (default: the config's repo)")
    .option("--dest-vm <vm>", "the backup qube (default: the config's destVm)")
    .option("--passphrase-file <f>", "the passphrase (default: the config's passphraseFile)")
    .addOption(rootOption())
    .action(async (id: string | undefined, o: RunOptions & { snapshot?: string }) => done(await verify(id, { ...o, exclude: [] })));
  const ledger = program.command("ledger").usage("list|push|rebuild [--root DIR]").description("dom0's record of its backups, and its copy in the repository");
  ledger
    .command("list")
    .usage("[--root DIR]")
    .description("list the backups dom0 recorded")
    .addOption(rootOption())
    .action((o: { root: string }) => done(ledgerList(o.root)));
  for (const [sub, what, run] of [
    ["push", "store the signed ledger in the repository (done after every backup)", ledgerPush],
    ["rebuild", "rebuild the ledger from the repository's copy (a new dom0, with its recovery code)", ledgerRebuild],
  ] as const) {
    ledger
      .command(sub)
      .usage("[--repo NAME] [--dest-vm VM] [--passphrase-file F] [--root DIR]")
      .description(what)
      .option("--repo <name>", "repository (default: the config's repo)")
      .option("--dest-vm <vm>", "the backup qube (default: the config's destVm)")
      .option("--passphrase-file <f>", "the passphrase, i.e. the recovery code (default: the config's passphraseFile)")
      .addOption(rootOption())
      .action(async (o: LedgerSyncOptions) => done(await run(o)));
  }
}

function registerShimSecretDoctor(program: Command, done: Done): void {
  const s = program.command("shim").usage("install|uninstall|status|path [--root DIR]").description("install the scrypt shim for qvm-backup");
  for (const sub of ["install", "uninstall", "status"] as const) {
    s.command(sub).usage("[--root DIR]").addOption(rootOption()).action((o: { root: string }) => done(shim(sub, o.root)));
  }
  // --root is accepted as everywhere (README), though the built shim does not depend on it.
  s.command("path").usage("[--root DIR]").addOption(rootOption()).action(() => done(shimPath()));

  const secret = program.command("secret").usage("new --out FILE [--root DIR]").description("write a new passphrase");
  const n = secret
    .command("new")
    .usage("--out FILE [--root DIR]")
    .option("--out <file>", "where to write it")
    .addOption(rootOption(undefined))
    .action((o: { out?: string; root?: string }) => done(secretNew(o.out, o.root)));
  mistakes(n, { "commander.excessArguments": "secret new needs --out FILE and nothing else" });

  program
    .command("doctor")
    .usage("[--root DIR]")
    .description("check the installation")
    .addOption(rootOption())
    .action(async (o: { root: string }) => done(await doctorCmd(o.root)));
}

/** The program's help: one synopsis line per command, then where the defaults come from. */
function overview(cmd: Command, helper: Help): string {
  const lines = helper.visibleCommands(cmd).map((c) => (c.name() === "help" ? "  help                     show this text" : `  ${synopsis(c)}`));
  return `usage: ${cmd.name()} ${cmd.usage()}
${lines.join("\n")}
Defaults come from <root>/etc/qubes-dedup/agent.json (destVm "backup", passphraseFile /etc/qubes-dedup/passphrase).
With --root DIR, system paths (the config's, secret new's --out) are taken inside DIR.
`;
}

/**
 * Builds the program; `done` receives the exit status of the command run.
 * Parse errors are thrown (UsageError, HelpShown), never printed or exited on.
 */
export function createProgram(done: Done = () => {}): Command {
  const program = new Command("qubes-dedup-agent").usage("<command> [options]");
  registerRuns(program, done);
  registerShimSecretDoctor(program, done);
  registerRpc(program, done);
  program
    .command("deadman")
    .usage("[--days N] [--json] [--root DIR]")
    .description("warn when a qube has no good backup in dom0's ledger newer than N days (exit 3)")
    .option("--days <n>", "the limit in days (default: the config's deadmanDays, 7)")
    .option("--json", "one JSON object")
    .addOption(rootOption())
    .action(async (o: DeadmanOptions) => done(await deadmanCmd(o)));
  program.helpCommand("help", "show this text");
  for (const cmd of allCommands(program)) {
    cmd
      .exitOverride((err) => {
        throw fromCommander(cmd, err);
      })
      .configureOutput({ writeErr: () => {}, outputError: () => {} })
      .configureHelp({
        helpWidth: 120,
        styleTitle: (title) => title.toLowerCase(),
        subcommandTerm: synopsis,
        // the program's list names the commands of a group (shim install, shim path) rather than the group
        visibleCommands(this: Help, c: Command) {
          return Help.prototype.visibleCommands.call(this, c).flatMap((sub) => (sub.commands.length && c === program ? sub.commands : [sub]));
        },
      });
  }
  program.configureHelp({ formatHelp: overview });
  return program;
}
