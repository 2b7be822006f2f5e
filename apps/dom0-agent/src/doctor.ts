/**
 * `doctor`: one line per check, each failure with its fix. Checks the real
 * scrypt (present, >= 1.3.0 for `--passphrase`), the installed shim, the
 * qubesd drop-in and the running qubesd's PATH, the passphrase file and the
 * qrexec policy file. Under `--root`, "running qubesd" is the simulated
 * qubesd of a root that has its unit file (qubes-sim): the scrypt its
 * environment (unit file + drop-ins) finds is what encrypts backup chunks.
 */
import fs from "node:fs";
import { execa } from "execa";
import path from "node:path";
import { PROJECT_PASSPHRASE_RE } from "@qubes-dedup/protocol";
import { DROP_IN_FILE, REAL_SCRYPT_FILE, SHIM_DIR, SHIM_FILE, installStatus, wantedFiles } from "@qubes-dedup/shim";
import { CONFIG_FILE, POLICY_FILE, loadConfig, underRoot } from "./config.ts";
import { agentCommand, shownPath } from "./args.ts";
import { observer } from "./install.ts";
import { qubesdPath } from "./qubesd-env.ts";
import { builtShimPath } from "./shim-path.ts";

/** The outcome of one check. */
export interface Check {
  name: string;
  state: "ok" | "FAIL" | "skip";
  detail: string;
}

const ok = (name: string, detail: string): Check => ({ name, state: "ok", detail });
const fail = (name: string, problem: string, fix: string): Check => ({ name, state: "FAIL", detail: `${problem}; fix: ${fix}` });

/**
 * The real scrypt the installed shim will run: the system path named in
 * `real-scrypt` (default /usr/bin/scrypt), looked up inside `root` first and,
 * when the root has none (a bare scratch tree), on the host, whose binary
 * the shim then runs. The detail names the path actually checked.
 */
async function realScrypt(root: string): Promise<Check> {
  let real = "/usr/bin/scrypt";
  try {
    real = fs.readFileSync(underRoot(root, REAL_SCRYPT_FILE), "utf8").trim() || real;
  } catch {
    // Not installed yet: the shim's default applies.
  }
  const inRoot = underRoot(root, real);
  const hostFallback = root !== "/" && !fs.existsSync(inRoot);
  const checked = hostFallback ? real : inRoot;
  const where = hostFallback ? `, the host's: ${root} has none` : "";
  const r = await execa(checked, ["--version"], { reject: false });
  const m = /^scrypt (\d+)\.(\d+)\.(\d+)/.exec(r.stdout ?? "");
  if (r.exitCode !== 0 || !m) {
    const what = hostFallback ? `${inRoot} and ${real} are missing or do not answer --version` : `${checked} is missing or does not answer --version`;
    return fail("real scrypt", what, "install scrypt 1.3 or later (qubes-dom0 package scrypt)");
  }
  const [maj, min] = [Number(m[1]), Number(m[2])];
  if (maj < 1 || (maj === 1 && min < 3)) return fail("real scrypt", `${checked} is ${m[0]}, older than 1.3.0 (no --passphrase)${where}`, "update scrypt to 1.3 or later");
  return ok("real scrypt", `${checked} (${m[0]}${where})`);
}

function shimInstalled(root: string): Check {
  const fix = `run \`${agentCommand(root, "shim install")}\``;
  const shimFile = shownPath(root, `${SHIM_DIR}/scrypt`);
  let shim: Buffer;
  try {
    shim = fs.readFileSync(builtShimPath());
  } catch {
    return fs.existsSync(shimFile) ? ok("shim installed", `${shimFile} (not compared: no built shim here)`) : fail("shim installed", `${shimFile} is missing`, fix);
  }
  const bad = installStatus(wantedFiles(shim), observer(root)).filter((s) => s.state !== "ok");
  if (bad.length === 0) return ok("shim installed", `${shimFile}, up to date`);
  return fail("shim installed", bad.map((b) => `${shownPath(root, b.path)} is ${b.state}`).join(", "), fix);
}

function firstOnPath(pathValue: string | undefined): boolean {
  return pathValue !== undefined && pathValue.split(":")[0] === SHIM_DIR;
}

function dropIn(root: string): Check {
  const file = shownPath(root, DROP_IN_FILE);
  const fix = `run \`${agentCommand(root, "shim install")}\``;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return fail("qubesd drop-in", `${file} is missing`, fix);
  }
  const m = /^Environment=PATH=(\S+)\s*$/m.exec(text);
  if (!firstOnPath(m?.[1])) return fail("qubesd drop-in", `${file} does not put ${SHIM_DIR} first on PATH`, fix);
  return ok("qubesd drop-in", `${file} puts ${SHIM_DIR} first on PATH`);
}

/** The first executable `scrypt` on a PATH value, as execvp finds it. */
function scryptOnPath(pathValue: string | undefined): string | undefined {
  for (const dir of (pathValue ?? "").split(":")) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, "scrypt"), fs.constants.X_OK);
      return path.join(dir, "scrypt");
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * A PATH value of the system under `root` as seen from here: each directory
 * the root has is the root's, any other the host's (a scratch root shares the
 * host's /usr/bin, hence its real scrypt).
 */
function rootPath(root: string, pathValue: string): string {
  return pathValue
    .split(":")
    .map((d) => (path.isAbsolute(d) && fs.existsSync(underRoot(root, d)) ? underRoot(root, d) : d))
    .join(":");
}

/** Under --root: which scrypt the simulated qubesd's environment finds (skip without its unit file). */
function simulatedQubesd(root: string): Check {
  const qubesd = qubesdPath(root);
  if (qubesd === undefined) return { name: "running qubesd", state: "skip", detail: "not checked under --root" };
  const shim = shownPath(root, SHIM_FILE);
  const found = scryptOnPath(rootPath(root, qubesd));
  if (found === shim) return ok("running qubesd", `the simulated qubesd finds ${shim} first on its PATH`);
  return fail("running qubesd", `the simulated qubesd finds ${found ?? "no scrypt"} on its PATH, not ${shim}, so backup chunks go through the real scrypt and will not deduplicate`, `run \`${agentCommand(root, "shim install")}\``);
}

/**
 * Judges the running qubesd from `systemctl show qubesd.service -p
 * Environment -p MainPID` (its `Key=Value` lines) and the NUL-separated
 * environment of that process (/proc/<MainPID>/environ; undefined when
 * unreadable). The unit's Environment says whether systemd reread the
 * drop-in; the process's own PATH says whether qubesd was restarted since:
 * qubesd keeps the environment it started with. Pure.
 */
export function judgeRunningQubesd(show: string, environ: string | undefined): Check {
  const prop = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(show)?.[1] ?? "";
  const unitPath = /(?:^|\s)PATH=(\S+)/.exec(prop("Environment"))?.[1];
  const restart = "systemctl restart qubesd (when no backup or restore runs)";
  if (!firstOnPath(unitPath)) return fail("running qubesd", `the qubesd unit's PATH does not start with ${SHIM_DIR}: systemd has not read the drop-in`, `systemctl daemon-reload && ${restart}`);
  const pid = Number(prop("MainPID"));
  if (!pid) return fail("running qubesd", "qubesd is not running", "systemctl start qubesd");
  if (environ === undefined) return fail("running qubesd", `cannot read the environment of qubesd (pid ${pid})`, "run doctor as root (sudo)");
  const running = environ.split("\0").find((v) => v.startsWith("PATH="))?.slice("PATH=".length);
  if (!firstOnPath(running)) return fail("running qubesd", `qubesd (pid ${pid}) still runs with the PATH it had before the shim was installed: it was not restarted since`, restart);
  return ok("running qubesd", `pid ${pid}, its PATH starts with ${SHIM_DIR}`);
}

async function runningQubesd(root: string): Promise<Check> {
  if (root !== "/") return simulatedQubesd(root);
  const r = await execa("systemctl", ["show", "qubesd.service", "--property=Environment", "--property=MainPID"], { reject: false });
  if (r.exitCode !== 0) return fail("running qubesd", "systemctl cannot show qubesd.service", "run this in dom0 with qubesd running");
  const pid = /^MainPID=(\d+)$/m.exec(r.stdout ?? "")?.[1];
  let environ: string | undefined;
  try {
    environ = pid && pid !== "0" ? fs.readFileSync(`/proc/${pid}/environ`, "latin1") : "";
  } catch {
    environ = undefined;
  }
  return judgeRunningQubesd(r.stdout ?? "", environ);
}

function passphraseFile(root: string): Check {
  let file: string;
  try {
    file = loadConfig(root).passphraseFile;
  } catch (e) {
    return fail("passphrase file", (e as Error).message.replace(/;.*$/, ""), "fix or remove the config file");
  }
  const full = underRoot(root, file);
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch {
    return fail("passphrase file", `${full} is missing`, agentCommand(root, `secret new --out ${file}`));
  }
  if ((st.mode & 0o077) !== 0 || st.uid !== 0) return fail("passphrase file", `${full} is not root-only (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid})`, `chown root:root ${full} && chmod 600 ${full}`);
  if (!PROJECT_PASSPHRASE_RE.test(fs.readFileSync(full, "utf8").split("\n")[0] ?? "")) {
    const fix = `${agentCommand(root, "secret new --out <new file>")} and point passphraseFile in ${shownPath(root, CONFIG_FILE)} at it`;
    return fail("passphrase file", `${full} does not hold a qubes-dedup passphrase`, fix);
  }
  return ok("passphrase file", `${full}, root-only`);
}

function policy(root: string): Check {
  const file = shownPath(root, POLICY_FILE);
  const fix = `run \`${agentCommand(root, "policy install")}\``;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return fail("qrexec policy", `${file} is missing`, fix);
  }
  const missing = ["qubes.DedupBackup", "qubes.DedupRestore"].filter((s) => !text.includes(s));
  if (missing.length) return fail("qrexec policy", `${file} has no rule for ${missing.join(" and ")}`, fix);
  return ok("qrexec policy", file);
}

/** Runs every check under `root`; paths and fix commands in the details name `root`. */
export async function doctor(root: string): Promise<Check[]> {
  return [await realScrypt(root), shimInstalled(root), dropIn(root), await runningQubesd(root), passphraseFile(root), policy(root)];
}

/** One printable line per check. */
export function formatCheck(c: Check): string {
  return `${c.state.padEnd(4)}  ${c.name}: ${c.detail}`;
}
