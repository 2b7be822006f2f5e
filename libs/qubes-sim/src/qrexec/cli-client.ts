/**
 * qrexec-client-vm for a simulated qube.
 * usage: qrexec-client-vm TARGET SERVICE[+ARGUMENT]
 * The calling qube is $QUBES_SIM_VM_NAME (default "backup"); dom0 is
 * $QUBES_SIM_ROOT. Exit status: the service's, or 126 when refused.
 */
import { UsageError } from "../errors.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "../cli/common.ts";
import { qrexecCall } from "./client.ts";

const program = simCommand(
  "qrexec-client-vm",
  "TARGET SERVICE[+ARGUMENT]",
  `Calls SERVICE in TARGET (only dom0 is simulated) from the qube $QUBES_SIM_VM_NAME
(default "backup"), with the policy in $QUBES_SIM_ROOT/etc/qubes/policy.d/.`,
).argument("[words...]");

runCli(program, async (_values, positionals) => {
  const [target, service, ...rest] = positionals;
  if (!target || !service) throw new UsageError("missing TARGET or SERVICE");
  if (rest.length) throw new UsageError("a local program is not supported by the simulator; the service talks to stdin/stdout");
  const abort = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(sig, () => abort.abort());
  const code = await qrexecCall({ target, service, root: rootFromEnv(), stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: abort.signal });
  // Our stdin may still be open (qrexec does not wait for it once the service ended).
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  return abort.signal.aborted ? 143 : code;
});
