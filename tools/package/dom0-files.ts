/**
 * Lays out the files of the dom0 RPM under a staging root and prints the
 * RPM `%files` list for them (one line per path, with `%dir` for the
 * directories the package owns and `%config(noreplace)` for the policy).
 * usage: npx tsx tools/package/dom0-files.ts <stage-dir> <agent-bundle>
 *
 * Nothing is written twice: the shim, its real-scrypt file, the qubesd
 * drop-in and the install manifest come from the agent's own `shim install`
 * (run with the stage as its root, the directories already there so that
 * the manifest records none as created by it: the package owns them); the
 * policy and the qrexec service files from the agent's `policyFiles`, for
 * the default backup qube "backup" and dom0's /usr/bin/node.
 */
import fs from "node:fs";
import path from "node:path";
import { MANIFEST_FILE, SHIM_DIR, SHIM_FILE } from "@qubes-dedup/shim";
import { installShim, policyFiles } from "@qubes-dedup/dom0-agent";

/** Where the agent bundle is installed; /usr/bin/qubes-dedup-agent links to it. */
const LIB_DIR = path.dirname(MANIFEST_FILE);
const AGENT_FILE = `${LIB_DIR}/qubes-dedup-agent.mjs`;
const AGENT_LINK = "/usr/bin/qubes-dedup-agent";
/** The agent reads "the built shim" from `scrypt` beside itself (shim-path.ts): the installed one. */
const BUILT_SHIM_LINK = `${LIB_DIR}/scrypt`;
/** dom0's node (Fedora's nodejs package). */
const NODE = "/usr/bin/node";
/** Directories the package owns (and rpm -e removes when empty); their parents belong to dom0's own packages. */
const OWNED_DIRS = [LIB_DIR, SHIM_DIR, "/etc/systemd/system/qubesd.service.d"];

const [stage, bundle] = process.argv.slice(2);
if (!stage || !bundle) {
  console.error("usage: npx tsx tools/package/dom0-files.ts <stage-dir> <agent-bundle>");
  process.exit(2);
}
const inStage = (p: string) => path.join(stage, p);
fs.rmSync(stage, { recursive: true, force: true });
for (const d of OWNED_DIRS) fs.mkdirSync(inStage(d), { recursive: true, mode: 0o755 });

fs.mkdirSync(inStage(path.dirname(AGENT_LINK)), { recursive: true, mode: 0o755 });
fs.copyFileSync(bundle, inStage(AGENT_FILE));
fs.chmodSync(inStage(AGENT_FILE), 0o755);
fs.symlinkSync(path.relative(path.dirname(AGENT_LINK), AGENT_FILE), inStage(AGENT_LINK));
fs.symlinkSync(path.relative(LIB_DIR, SHIM_FILE), inStage(BUILT_SHIM_LINK));
const shimLines = installShim(stage);
if (shimLines.some((l) => l.startsWith("created directory"))) throw new Error(`shim install created directories the package does not own: ${shimLines.join("; ")}`);

const config = new Set<string>();
for (const f of policyFiles("backup", NODE, AGENT_FILE)) {
  fs.mkdirSync(path.dirname(inStage(f.path)), { recursive: true, mode: 0o755 });
  fs.writeFileSync(inStage(f.path), f.content, { mode: f.mode });
  fs.chmodSync(inStage(f.path), f.mode);
  if (f.path.startsWith("/etc/qubes/policy.d/")) config.add(f.path);
}

/** Every non-directory path under the stage, as a system path, sorted. */
function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : [`/${path.relative(stage, full)}`];
  });
}
const lines = [...OWNED_DIRS.map((d) => `%dir ${d}`), ...files(stage).sort().map((f) => (config.has(f) ? `%config(noreplace) ${f}` : f))];
process.stdout.write(`${lines.join("\n")}\n`);
