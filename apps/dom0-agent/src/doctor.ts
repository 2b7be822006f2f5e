/**
 * `doctor`: one line per check, each failure with its fix. Checks the real
 * scrypt (present, >= 1.3.0 for `--passphrase`), the installed shim, the
 * qubesd drop-in and the running qubesd's PATH, the passphrase file and the
 * qrexec policy file.
 */
import fs from "node:fs";
import { execa } from "execa";
import { DROP_IN_FILE, PROJECT_PASSPHRASE_RE, REAL_SCRYPT_FILE, SHIM_DIR, installStatus, wantedFiles } from "@qubes-dedup/shim";
import { POLICY_FILE, loadConfig, underRoot } from "./config.ts";
import { observer } from "./install.ts";
import { builtShimPath } from "./shim-path.ts";

/** The outcome of one check. */
export interface Check {
  name: string;
  state: "ok" | "FAIL" | "skip";
  detail: string;
}

const ok = (name: string, detail: string): Check => ({ name, state: "ok", detail });
const fail = (name: string, problem: string, fix: string): Check => ({ name, state: "FAIL", detail: `${problem}; fix: ${fix}` });

async function realScrypt(root: string): Promise<Check> {
  let real = "/usr/bin/scrypt";
  try {
    real = fs.readFileSync(underRoot(root, REAL_SCRYPT_FILE), "utf8").trim() || real;
  } catch {
    // Not installed yet: the shim's default applies.
  }
  const r = await execa(underRoot(root, real), ["--version"], { reject: false });
  const m = /^scrypt (\d+)\.(\d+)\.(\d+)/.exec(r.stdout ?? "");
  if (r.exitCode !== 0 || !m) return fail("real scrypt", `${real} is missing or does not answer --version`, "install scrypt 1.3 or later (qubes-dom0 package scrypt)");
  const [maj, min] = [Number(m[1]), Number(m[2])];
  if (maj < 1 || (maj === 1 && min < 3)) return fail("real scrypt", `${real} is ${m[0]}, older than 1.3.0 (no --passphrase)`, "update scrypt to 1.3 or later");
  return ok("real scrypt", `${real} (${m[0]})`);
}

function shimInstalled(root: string): Check {
  let shim: Buffer;
  try {
    shim = fs.readFileSync(builtShimPath());
  } catch {
    const p = underRoot(root, `${SHIM_DIR}/scrypt`);
    return fs.existsSync(p) ? ok("shim installed", `${SHIM_DIR}/scrypt (not compared: no built shim here)`) : fail("shim installed", `${SHIM_DIR}/scrypt is missing`, "run `qubes-dedup-agent shim install`");
  }
  const bad = installStatus(wantedFiles(shim), observer(root)).filter((s) => s.state !== "ok");
  if (bad.length === 0) return ok("shim installed", `${SHIM_DIR}/scrypt, up to date`);
  return fail("shim installed", bad.map((b) => `${b.path} is ${b.state}`).join(", "), "run `qubes-dedup-agent shim install`");
}

function firstOnPath(pathValue: string | undefined): boolean {
  return pathValue !== undefined && pathValue.split(":")[0] === SHIM_DIR;
}

function dropIn(root: string): Check {
  let text: string;
  try {
    text = fs.readFileSync(underRoot(root, DROP_IN_FILE), "utf8");
  } catch {
    return fail("qubesd drop-in", `${DROP_IN_FILE} is missing`, "run `qubes-dedup-agent shim install`");
  }
  const m = /^Environment=PATH=(\S+)\s*$/m.exec(text);
  if (!firstOnPath(m?.[1])) return fail("qubesd drop-in", `${DROP_IN_FILE} does not put ${SHIM_DIR} first on PATH`, "run `qubes-dedup-agent shim install`");
  return ok("qubesd drop-in", `${DROP_IN_FILE} puts ${SHIM_DIR} first on PATH`);
}

async function runningQubesd(root: string): Promise<Check> {
  if (root !== "/") return { name: "running qubesd", state: "skip", detail: "not checked under --root" };
  const r = await execa("systemctl", ["show", "qubesd.service", "--property=Environment", "--value"], { reject: false });
  if (r.exitCode !== 0) return fail("running qubesd", "systemctl cannot show qubesd.service", "run this in dom0 with qubesd running");
  const pathVar = /(?:^|\s)PATH=(\S+)/.exec(r.stdout ?? "")?.[1];
  if (!firstOnPath(pathVar)) return fail("running qubesd", `qubesd's PATH does not start with ${SHIM_DIR}`, "systemctl daemon-reload && systemctl restart qubesd");
  return ok("running qubesd", `PATH starts with ${SHIM_DIR}`);
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
    return fail("passphrase file", `${file} is missing`, `qubes-dedup-agent secret new --out ${file}`);
  }
  if ((st.mode & 0o077) !== 0 || st.uid !== 0) return fail("passphrase file", `${file} is not root-only (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid})`, `chown root:root ${file} && chmod 600 ${file}`);
  if (!PROJECT_PASSPHRASE_RE.test(fs.readFileSync(full, "utf8").split("\n")[0] ?? "")) {
    return fail("passphrase file", `${file} does not hold a qubes-dedup passphrase`, "qubes-dedup-agent secret new --out <new file> and point passphraseFile in /etc/qubes-dedup/agent.json at it");
  }
  return ok("passphrase file", `${file}, root-only`);
}

function policy(root: string): Check {
  let text: string;
  try {
    text = fs.readFileSync(underRoot(root, POLICY_FILE), "utf8");
  } catch {
    return fail("qrexec policy", `${POLICY_FILE} is missing`, "run `qubes-dedup-agent policy install`");
  }
  const missing = ["qubes.DedupBackup", "qubes.DedupRestore"].filter((s) => !text.includes(s));
  if (missing.length) return fail("qrexec policy", `${POLICY_FILE} has no rule for ${missing.join(" and ")}`, "run `qubes-dedup-agent policy install`");
  return ok("qrexec policy", POLICY_FILE);
}

/** Runs every check under `root`. */
export async function doctor(root: string): Promise<Check[]> {
  return [await realScrypt(root), shimInstalled(root), dropIn(root), await runningQubesd(root), passphraseFile(root), policy(root)];
}

/** One printable line per check. */
export function formatCheck(c: Check): string {
  return `${c.state.padEnd(4)}  ${c.name}: ${c.detail}`;
}
