/**
 * The dom0 confirmation of a restore requested by the backup qube: a
 * `zenity --question` dialog in dom0 showing what dom0's ledger says (the
 * qrexec `ask` dialog before it names only the service and the caller).
 */
import { execa } from "execa";

/** Raised when no dialog can be shown; the restore is then refused. */
export class DialogError extends Error {
  override name = "DialogError";
}

/** `text` safe for zenity's Pango markup. Pure. */
export function markupEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Asks the dom0 user; resolves true only for "Yes" (zenity exit 0).
 * @throws DialogError when zenity cannot run or fails otherwise.
 */
export async function confirmInDom0(text: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await execa("zenity", ["--question", "--title=qubes-dedup: restore", "--no-wrap", `--text=${markupEscape(text)}`], { env, reject: false, stdin: "ignore" });
  if (r.exitCode === 0) return true;
  if (r.exitCode === 1) return false;
  throw new DialogError(`cannot ask for confirmation in dom0 (zenity: ${String(r.stderr).trim() || r.shortMessage}); install zenity in dom0 or restore with \`qubes-dedup-agent restore\` there.`);
}
