/** `shim install|uninstall|status`: the I/O side of libs/shim's install plan. */
import fs from "node:fs";
import path from "node:path";
import { InstallConflictError, MANIFEST_FILE, describeOp, installStatus, planInstall, planUninstall, wantedFiles, type InstallOp, type PathState } from "@qubes-dedup/shim";
import { builtShimPath } from "./shim-path.ts";
import { agentCommand, shownPath } from "./args.ts";
import { DEADMAN_TIMER, DEADMAN_TIMER_FILE, DEADMAN_TIMER_LINK, deadmanUnits } from "./deadman-units.ts";

/** Raised when the shim has not been built. */
export class ShimNotBuiltError extends Error {
  override name = "ShimNotBuiltError";
}

/** Observes system path `p` under `root` (symlinks are not followed). */
export function observer(root: string): (p: string) => PathState {
  return (p) => {
    const full = path.join(root, p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      return { kind: "missing" };
    }
    if (st.isDirectory()) return { kind: "dir" };
    return { kind: "file", mode: st.mode, content: st.isFile() ? fs.readFileSync(full) : Buffer.alloc(0) };
  };
}

/** The built shim's bytes. @throws ShimNotBuiltError */
export function readBuiltShim(): Buffer {
  const p = builtShimPath();
  try {
    return fs.readFileSync(p);
  } catch {
    throw new ShimNotBuiltError(`the shim is not built at ${p}; run \`npx nx build @qubes-dedup/shim\` (or set QUBES_DEDUP_SHIM).`);
  }
}

/** Applies `ops` under `root`; returns one line per change actually made, paths shown inside `root`. */
export function applyOps(root: string, ops: InstallOp[]): string[] {
  const done: string[] = [];
  for (const op of ops) {
    const full = path.join(root, op.path);
    if (op.op === "mkdir") fs.mkdirSync(full, { mode: op.mode });
    else if (op.op === "write") {
      // Written beside the target and renamed, so qubesd never runs half a shim.
      const tmp = `${full}.qubes-dedup-new`;
      fs.writeFileSync(tmp, op.content, { mode: op.mode });
      fs.chmodSync(tmp, op.mode);
      fs.renameSync(tmp, full);
    } else if (op.op === "chmod") fs.chmodSync(full, op.mode);
    else if (op.op === "remove") fs.unlinkSync(full);
    else {
      try {
        fs.rmdirSync(full);
        done.push(`removed directory ${shownPath(root, op.path)}`);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST") done.push(`kept ${shownPath(root, op.path)}: it holds files qubes-dedup did not write`);
        else if (code !== "ENOENT") throw e;
      }
      continue;
    }
    done.push(describeOp({ ...op, path: shownPath(root, op.path) }));
  }
  return done;
}

/** Everything `shim install` puts in place: the shim's files and the dead-man check's units. */
function wanted() {
  return [...wantedFiles(readBuiltShim()), ...deadmanUnits()];
}

/** What to do after a change: restart qubesd on a real dom0, nothing for a scratch root. */
function nextStep(root: string, why: string, restart = "systemctl daemon-reload && systemctl restart qubesd"): string {
  return root === "/" ? `next: ${restart}${why}` : `next: nothing for the scratch root ${root} (on a real dom0: ${restart})`;
}

/** `shim install`: returns the lines to print. @throws InstallConflictError (path shown inside `root`) */
export function install(root: string): string[] {
  let ops: InstallOp[];
  try {
    ops = planInstall(wanted(), observer(root));
  } catch (e) {
    // The plan names system paths; the user must see the one in their root.
    if (e instanceof InstallConflictError && root !== "/") throw new InstallConflictError(e.message.replace(/^\/\S*/, (p) => shownPath(root, p)));
    throw e;
  }
  if (ops.length === 0) return ["nothing to change: the shim is already installed and up to date"];
  const start = `systemctl daemon-reload && systemctl enable --now ${DEADMAN_TIMER} && systemctl restart qubesd`;
  return [...applyOps(root, ops), nextStep(root, " (so that qubesd finds the shim first on its PATH, and the dead-man check runs daily)", start)];
}

/** `shim uninstall`: returns the lines to print. */
export function uninstall(root: string): string[] {
  const ops = planUninstall(observer(root));
  if (ops.length === 0) return ["nothing to remove: the shim is not installed"];
  return [...removeTimerLink(root), ...applyOps(root, ops), nextStep(root, "")];
}

/** `systemctl enable`'s link to the timer, which would dangle once the unit is gone (install never writes it). */
function removeTimerLink(root: string): string[] {
  const link = path.join(root, DEADMAN_TIMER_LINK);
  try {
    // systemctl writes the unit's system path; a link inside a scratch root may be relative
    const target = fs.lstatSync(link).isSymbolicLink() ? fs.readlinkSync(link) : "";
    if (target !== DEADMAN_TIMER_FILE && path.resolve(path.dirname(link), target) !== path.join(root, DEADMAN_TIMER_FILE)) return [];
  } catch {
    return [];
  }
  fs.unlinkSync(link);
  return [`removed ${shownPath(root, DEADMAN_TIMER_LINK)} (the timer was enabled)`];
}

/** `shim status`: lines to print (paths inside `root`) and whether everything is installed and current. */
export function status(root: string): { lines: string[]; ok: boolean } {
  const observe = observer(root);
  const lines = installStatus(wanted(), observe).map((s) => `${s.state === "ok" ? "ok" : s.state}: ${shownPath(root, s.path)}`);
  const manifest = observe(MANIFEST_FILE).kind === "file";
  lines.push(`${manifest ? "ok" : "missing"}: ${shownPath(root, MANIFEST_FILE)}`);
  const ok = manifest && lines.every((l) => l.startsWith("ok:"));
  lines.push(ok ? "the shim is installed and up to date" : `the shim is not (fully) installed; run \`${agentCommand(root, "shim install")}\``);
  return { lines, ok };
}
