/**
 * The disposable qube of a paranoid-mode restore, as far as the restore
 * depends on it: its PATH, its home, the passphrase file dom0 copies in.
 *
 * Facts (QubesOS/qubes-core-admin-client qubesadmin/backup/dispvm.py,
 * QubesOS/qubes-core-qrexec agent/qrexec-agent.c): dom0 creates the
 * disposable `disp-backup-restore` from `management_dispvm`, copies the
 * passphrase file to `~/QubesIncoming/dom0/<name>` (qvm-copy-to-vm), and runs
 * the inner qvm-backup-restore through qrexec, which starts the user's
 * shell as a login shell: the PATH is the system default plus whatever
 * `/etc/profile.d/*.sh` of the template adds. The simulated disposable is
 * this machine with the files of {@link simPaths}`(root).managementDispvm`
 * laid over it: its profile.d scripts are sourced (with `qubesdb-read
 * /name` answering the disposable's name) and every PATH entry the overlay
 * holds is taken from the overlay.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SimError } from "../errors.ts";
import { simPaths } from "../system/layout.ts";

/** The name dom0 gives the disposable of a paranoid-mode restore (dispvm.py). */
export const PARANOID_DISPVM_NAME = "disp-backup-restore";
/** The PATH a login shell of an unprivileged user starts from (Debian's /etc/profile; Fedora's is a superset). */
const BASE_PATH = "/usr/local/bin:/usr/bin:/bin";
const USER = "user";

/** A fresh environment of exactly `vars` (nothing inherited from ours). */
function envOf(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(vars)) as NodeJS.ProcessEnv;
}

/** A started simulated disposable. */
export interface Disposable {
  /** Its environment: HOME, USER, LOGNAME, SHELL and the PATH of its login shell. */
  env: NodeJS.ProcessEnv;
  /** A file dom0 copies in (qvm-copy-to-vm), mode 0600; returns its path inside. */
  receive(name: string, content: string): string;
  /** Removes it (auto_cleanup). */
  remove(): void;
}

/**
 * The PATH a login shell in the disposable ends with: profile.d scripts of
 * the overlay sourced in name order over {@link BASE_PATH}, then entries the
 * overlay holds mapped into it.
 * @throws SimError when a profile.d script fails.
 */
export function disposablePath(root: string): string {
  const overlay = simPaths(root).managementDispvm;
  const profileD = path.join(overlay, "etc/profile.d");
  const scripts = fs.existsSync(profileD) ? fs.readdirSync(profileD).filter((f) => f.endsWith(".sh")).sort() : [];
  let value = BASE_PATH;
  if (scripts.length) {
    // qubesdb-read, the one Qubes tool such scripts may ask, answers for the disposable.
    const tools = fs.mkdtempSync(path.join(os.tmpdir(), "qubes-sim-qubesdb-"));
    try {
      fs.writeFileSync(path.join(tools, "qubesdb-read"), `#!/bin/sh\n[ "$1" = /name ] && echo ${PARANOID_DISPVM_NAME} && exit 0\nexit 1\n`, { mode: 0o755 });
      const sources = scripts.map((s) => `. ${JSON.stringify(path.join(profileD, s))}`).join("; ");
      const out = execFileSync("/bin/sh", ["-c", `${sources}; printf %s "$PATH"`], {
        env: envOf({ HOME: "/home/user", PATH: `${tools}:${BASE_PATH}` }),
        encoding: "utf8",
      });
      // The stub's directory is the simulator's, not the disposable's.
      value = out.split(":").filter((d) => d !== tools).join(":");
    } catch (e) {
      throw new SimError(`A profile.d script of the management disposable's template failed (${(e as Error).message.split("\n")[0]}); fix the package installed there.`);
    } finally {
      fs.rmSync(tools, { recursive: true, force: true });
    }
  }
  return value
    .split(":")
    .filter((d) => d !== "")
    .map((d) => (path.isAbsolute(d) && fs.existsSync(path.join(overlay, d)) ? path.join(overlay, d) : d))
    .join(":");
}

/**
 * Starts the disposable: a fresh home and the environment of its login shell.
 * `pass` is the environment dom0's tools hand on unchanged (simulator
 * settings such as QUBES_SIM_ROOT, TMPDIR).
 */
export function startDisposable(root: string, pass: NodeJS.ProcessEnv): Disposable {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `qubes-sim-${PARANOID_DISPVM_NAME}-`));
  const kept = Object.fromEntries(Object.entries(pass).filter(([k]) => k.startsWith("QUBES_SIM_") || k === "TMPDIR"));
  const env = envOf({ ...kept, HOME: home, USER, LOGNAME: USER, SHELL: "/bin/bash", PATH: disposablePath(root) });
  return {
    env,
    receive(name, content) {
      const dest = path.join(home, "QubesIncoming", "dom0", name);
      fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
      fs.writeFileSync(dest, content, { mode: 0o600 });
      return dest;
    },
    remove: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}
