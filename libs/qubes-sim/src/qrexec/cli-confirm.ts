/**
 * qubes-sim-confirm: answers the simulated dom0 confirmation of an `ask` rule.
 * usage: qubes-sim-confirm ID allow|deny
 *        qubes-sim-confirm --next allow|deny [--service S] [--timeout SECONDS]
 *        qubes-sim-confirm --list
 */
import { UsageError } from "../errors.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "../cli/common.ts";
import { answerPending, listPending, waitForPending } from "./ask.ts";

const program = simCommand(
  "qubes-sim-confirm",
  `ID allow|deny
       qubes-sim-confirm --next allow|deny [--service SERVICE] [--timeout SECONDS]
       qubes-sim-confirm --list`,
  `Answers a qrexec call waiting in $QUBES_SIM_ROOT/qrexec/pending/ (--next: the
first one to arrive; --list: one line per waiting call: ID SERVICE SOURCE TARGET TIME).`,
)
  .option("--next", "answer the first call to arrive")
  .option("--list", "list the waiting calls")
  .option("--service <service>", "with --next: only a call of this service")
  .option("--timeout <seconds>", "with --next: how long to wait (default 60)")
  .argument("[words...]");

function decision(v: string | undefined): "allow" | "deny" {
  if (v !== "allow" && v !== "deny") throw new UsageError(v === undefined ? "missing allow|deny" : `"${v}" is neither allow nor deny`);
  return v;
}

runCli(program, async (values, positionals) => {
  const root = rootFromEnv();
  if (values.list) {
    if (positionals.length || values.next) throw new UsageError("--list takes nothing else");
    for (const p of listPending(root)) process.stdout.write(`${p.id} ${p.service} ${p.source} ${p.target} ${p.time}\n`);
    return 0;
  }
  if (values.next) {
    if (positionals.length !== 1) throw new UsageError("--next takes allow or deny");
    const answer = decision(positionals[0]);
    const timeout = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!(timeout > 0)) throw new UsageError("--timeout needs a positive number of seconds");
    const p = await waitForPending(root, { service: values.service, timeoutSeconds: timeout });
    answerPending(root, p.id, answer);
    process.stdout.write(`${answer === "allow" ? "allowed" : "denied"} ${p.id}: ${p.service} from ${p.source}\n`);
    return 0;
  }
  const [id, answer, ...rest] = positionals;
  if (!id || rest.length) throw new UsageError(id ? "too many arguments" : "missing ID");
  answerPending(root, id, decision(answer));
  return 0;
});
