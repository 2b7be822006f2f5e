/**
 * zenity for the simulated dom0, `--question` only (dom0/dialog.ts):
 * usage: zenity --question [--title=T] [--no-wrap] --text=TEXT
 * Exit 0 for yes, 1 for no or no answer within $QUBES_SIM_ASK_TIMEOUT
 * seconds (default 120), as zenity does.
 */
import { askQuestion } from "../dom0/dialog.ts";
import { UsageError } from "../errors.ts";
import { rootFromEnv } from "../system/layout.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("zenity", "--question [--title=TITLE] [--no-wrap] --text=TEXT", "Shows a question in the simulated dom0 ($QUBES_SIM_ROOT/dialogs/).")
  .option("--question", "ask a yes/no question")
  .option("--title <title>", "the window title")
  .option("--no-wrap", "do not wrap the text")
  .option("--text <text>", "the question");

runCli(program, async (values) => {
  if (!values.question || typeof values.text !== "string") throw new UsageError("the simulator's zenity supports only --question --text=TEXT");
  const yes = await askQuestion(rootFromEnv(), String(values.title ?? ""), values.text, Number(process.env.QUBES_SIM_ASK_TIMEOUT ?? 120), process.env.QUBES_SIM_DIALOG_ANSWER);
  return yes ? 0 : 1;
});
