import { setTimeout as sleep } from "node:timers/promises";
import { answerDialog, pendingDialogs, type PendingDialog } from "../dom0/dialog.ts";

/**
 * Test support: waits for the one dom0 question (`zenity --question`) the
 * simulated dom0 shows, answers it as the dom0 user would, and returns it
 * (its text is what dom0 asked).
 * @throws Error when none is shown within `timeoutSeconds`, or more than one waits.
 */
export async function answerTheDialog(root: string, yes: boolean, timeoutSeconds = 60): Promise<PendingDialog> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const shown = pendingDialogs(root);
    if (shown.length > 1) throw new Error(`expected one dom0 dialog in ${root}, found ${shown.length}`);
    if (shown.length === 1) {
      answerDialog(root, shown[0]!.id, yes);
      return shown[0]!;
    }
    await sleep(50);
  }
  throw new Error(`no dom0 dialog was shown in ${root} within ${timeoutSeconds} seconds`);
}

/**
 * Test support: answers every dom0 question shown in `root` until `until`
 * settles, and returns them all in order, so a test can tell how many
 * dialogs a run showed (answered dialogs leave no file behind).
 */
export async function answerEveryDialog(root: string, until: Promise<unknown>, yes: boolean): Promise<PendingDialog[]> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => {});
  const answered: PendingDialog[] = [];
  for (;;) {
    for (const d of pendingDialogs(root)) {
      answerDialog(root, d.id, yes);
      answered.push(d);
    }
    if (done) return answered;
    await sleep(50);
  }
}
