/**
 * The `rpc` and `policy` commands of qubes-dedup-agent (policy install also
 * writes /etc/qubes-rpc/qubes.DedupBackup and qubes.DedupRestore, which run
 * this agent):
 *   rpc backup|restore [--root DIR]      qrexec handlers (see handler.ts)
 *   policy install|uninstall|status [--root DIR]
 * `--root` defaults to `$QUBES_DEDUP_AGENT_ROOT`, else "/" (the simulator
 * and tests point it at a scratch root; qrexec callers cannot set it).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { parseErrorSentence } from "../args.ts";
import { handleRpc } from "./handler.ts";
import { installPolicy, policyStatus, uninstallPolicy } from "./policy.ts";

export const RPC_USAGE = `usage: qubes-dedup-agent rpc backup|restore [--root DIR]
         (run by /etc/qubes-rpc/qubes.DedupBackup and qubes.DedupRestore; reads one JSON line:
          backup  {"repo"?, "qubes"?: [..], "exclude"?: [..]}
          restore {"repo"?, "snapshot", "qubes"?: [..], "verifyOnly"?: bool, "conflicts"?: "rename"|"skip"})
       qubes-dedup-agent policy install|uninstall|status [--root DIR]
`;

function usage(message: string): number {
  process.stderr.write(`qubes-dedup-agent: ${message}\n${RPC_USAGE}`);
  return 2;
}

function parseRoot(args: string[], command: string): { root: string; positionals: string[] } | string {
  try {
    const { values, positionals } = parseArgs({ args, options: { root: { type: "string" } }, allowPositionals: true, strict: true });
    return { root: values.root ?? process.env.QUBES_DEDUP_AGENT_ROOT ?? "/", positionals };
  } catch (e) {
    return parseErrorSentence(e, command);
  }
}

/** `qubes-dedup-agent rpc ...`; resolves to the exit status. */
export async function rpcCommand(args: string[]): Promise<number> {
  const p = parseRoot(args, "rpc");
  if (typeof p === "string") return usage(p);
  const [kind, ...extra] = p.positionals;
  if (kind !== "backup" && kind !== "restore") return usage(kind === undefined ? "rpc needs backup or restore" : `unknown rpc service ${kind}`);
  if (extra.length) return usage(`unexpected argument ${extra[0]}`);
  const code = await handleRpc(kind, p.root, { stdin: process.stdin, stdout: process.stdout, env: process.env });
  // The request has been read; whatever else the caller sends is not for us.
  process.stdin.destroy();
  return code;
}

/** `qubes-dedup-agent policy ...`; resolves to the exit status. */
export async function policyCommand(args: string[]): Promise<number> {
  const p = parseRoot(args, "policy");
  if (typeof p === "string") return usage(p);
  const [sub, ...extra] = p.positionals;
  if (extra.length) return usage(`unexpected argument ${extra[0]}`);
  // The service files run this very agent bundle.
  const agent = path.resolve(process.argv[1] ?? "");
  try {
    if (sub === "install") return print(installPolicy(p.root, agent)), 0;
    if (sub === "uninstall") return print(uninstallPolicy(p.root)), 0;
    if (sub === "status") {
      const s = policyStatus(p.root, agent);
      print(s.lines);
      return s.ok ? 0 : 1;
    }
  } catch (e) {
    process.stderr.write(`qubes-dedup-agent: ${(e as Error).message}\n`);
    return 1;
  }
  return usage(sub === undefined ? "policy needs install, uninstall or status" : `unknown policy command ${sub}`);
}

function print(lines: string[]): void {
  for (const l of lines) process.stdout.write(`${l}\n`);
}
