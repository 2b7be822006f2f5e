/**
 * `qubes-sim`: what a dom0 user does to qubes between backups, on the
 * simulated system in $QUBES_SIM_ROOT (dom0/volumes.ts, dom0/settings.ts):
 *
 *   qubes-sim start QUBE            qvm-start
 *   qubes-sim shutdown QUBE         qvm-shutdown --wait (commits its volumes)
 *   qubes-sim write QUBE VOLUME [--fraction F] [--seed S]   a running qube writes to its volume
 *   qubes-sim revert QUBE VOLUME    qvm-volume revert
 *   qubes-sim resize QUBE VOLUME SIZE   qvm-volume resize (bytes)
 *   qubes-sim import QUBE VOLUME FILE   qvm-volume import
 *   qubes-sim prefs QUBE NAME [VALUE]   qvm-prefs (no VALUE: back to the default)
 *   qubes-sim features QUBE NAME [VALUE]   qvm-features (no VALUE: unset)
 *   qubes-sim rename QUBE NEW
 */
import { mutateVolume } from "../system/content.ts";
import { rootFromEnv } from "../system/layout.ts";
import { importVolume, resizeVolume, revertVolume, runningVolumePath, shutdownQube, startQube } from "../dom0/volumes.ts";
import { renameQube, setQubeFeature, setQubeProperty } from "../dom0/settings.ts";
import { UsageError } from "../errors.ts";
import { runCli, simCommand } from "./common.ts";

const program = simCommand("qubes-sim", "start|shutdown|write|revert|resize|import|prefs|features|rename ARGS...", "Changes qubes of the simulated system in $QUBES_SIM_ROOT.")
  .argument("<action>")
  .argument("[args...]")
  .option("--fraction <f>", "write: share of the volume rewritten", "0.05")
  .option("--seed <s>", "write: seed of the new content", "write");

const ARITY: Record<string, [number, number]> = { start: [1, 1], shutdown: [1, 1], write: [2, 2], revert: [2, 2], resize: [3, 3], import: [3, 3], prefs: [2, 3], features: [2, 3], rename: [2, 2] };

runCli(program, async (values, positionals) => {
  const [action, ...a] = positionals as [string, ...string[]];
  const arity = ARITY[action];
  if (!arity) throw new UsageError(`unknown action ${action}`);
  if (a.length < arity[0] || a.length > arity[1]) throw new UsageError(`${action} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} or ${arity[1]}`} arguments`);
  const root = rootFromEnv();
  const [q, b, c] = a as [string, string, string];
  if (action === "start") startQube(root, q);
  else if (action === "shutdown") shutdownQube(root, q);
  else if (action === "write") mutateVolume(runningVolumePath(root, q, b), { fraction: Number(values.fraction), seed: String(values.seed) });
  else if (action === "revert") revertVolume(root, q, b);
  else if (action === "resize") resizeVolume(root, q, b, Number(c));
  else if (action === "import") importVolume(root, q, b, c);
  else if (action === "prefs") setQubeProperty(root, q, b, c);
  else if (action === "features") setQubeFeature(root, q, b, c);
  else renameQube(root, q, b);
  return 0;
});
