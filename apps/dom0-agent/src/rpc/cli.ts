/**
 * The `rpc` and `policy` commands of qubes-dedup-agent (policy install also
 * writes /etc/qubes-rpc/qubes.DedupBackup and qubes.DedupRestore, which run
 * this agent):
 *   rpc backup|restore [--root DIR]      qrexec handlers (see handler.ts)
 *   policy install|uninstall|status [--root DIR]
 * `--root` defaults to `$QUBES_DEDUP_AGENT_ROOT`, else "/" (the simulator
 * and tests point it at a scratch root; qrexec callers cannot set it).
 * The verb is an operand, not a subcommand, so every mistake is worded for
 * "rpc" or "policy" as a whole.
 */
import path from "node:path";
import { Command, Option } from "commander";
import { UsageError } from "../args.ts";
import { handleRpc } from "./handler.ts";
import { installPolicy, policyStatus, uninstallPolicy } from "./policy.ts";

const rpcCommands = new WeakSet<Command>();

/** The usage text for a mistake in `cmd` when it is rpc or policy, else undefined. */
export function usageOf(cmd: Command): string | undefined {
  if (!rpcCommands.has(cmd)) return undefined;
  const program = cmd.parent!;
  return program.commands.filter((c) => rpcCommands.has(c)).map((c) => c.helpInformation()).join("");
}

function usageError(cmd: Command, message: string): UsageError {
  const e = new UsageError(message);
  e.command = cmd;
  return e;
}

function rootOption(): Option {
  return new Option("--root <dir>", "take system paths inside DIR").env("QUBES_DEDUP_AGENT_ROOT").default("/");
}

function print(lines: string[]): void {
  for (const l of lines) process.stdout.write(`${l}\n`);
}

/** Adds `rpc` and `policy` to `program`; `done` receives the exit status. */
export function registerRpc(program: Command, done: (status: number) => void): void {
  const rpc = program
    .command("rpc")
    .usage("backup|restore [--root DIR]")
    .summary("qrexec handlers for qubes.DedupBackup / qubes.DedupRestore")
    .description(
      `run by /etc/qubes-rpc/qubes.DedupBackup and qubes.DedupRestore; reads one JSON line:
  backup  {"repo"?, "qubes"?: [..], "exclude"?: [..]}
  restore {"repo"?, "snapshot", "qubes"?: [..], "verifyOnly"?: bool, "paranoid"?: bool, "conflicts"?: "rename"|"skip"}
  restore {"repo"?, "point": "latest"|backup-id|UTC time, "qubes"?: [..], "conflicts"?: "rename"|"skip"}   (a restore point)`,
    )
    .argument("[service]")
    .addOption(rootOption())
    .action(async (kind: string | undefined, o: { root: string }) => {
      if (kind !== "backup" && kind !== "restore") throw usageError(rpc, kind === undefined ? "rpc needs backup or restore" : `unknown rpc service ${kind}`);
      const code = await handleRpc(kind, o.root, { stdin: process.stdin, stdout: process.stdout, env: process.env });
      // The request has been read; whatever else the caller sends is not for us.
      process.stdin.destroy();
      done(code);
    });

  const policy = program
    .command("policy")
    .usage("install|uninstall|status [--root DIR]")
    .description("install the qrexec policy and service files for the configured backup qube")
    .argument("[action]")
    .addOption(rootOption())
    .action((sub: string | undefined, o: { root: string }) => {
      if (sub !== "install" && sub !== "uninstall" && sub !== "status") {
        throw usageError(policy, sub === undefined ? "policy needs install, uninstall or status" : `unknown policy command ${sub}`);
      }
      // The service files run this very agent bundle.
      const agent = path.resolve(process.argv[1] ?? "");
      if (sub === "install") return done((print(installPolicy(o.root, agent)), 0));
      if (sub === "uninstall") return done((print(uninstallPolicy(o.root)), 0));
      const s = policyStatus(o.root, agent);
      print(s.lines);
      done(s.ok ? 0 : 1);
    });
  rpcCommands.add(rpc);
  rpcCommands.add(policy);
}
