/**
 * The simulated qubesd's environment. On Qubes, backups run inside qubesd
 * (`admin.backup.Execute`), so the chunks' `scrypt` is found through the
 * environment systemd gives qubesd.service: systemd's default PATH plus the
 * `Environment=` lines of the unit file and its drop-ins
 * (`qubesd.service.d/*.conf`, read in file-name order, `/etc` overriding a
 * same-named file under `/usr/lib`). The caller's environment plays no part:
 * a missing or stale drop-in means the real scrypt encrypts the chunks.
 *
 * Paths on PATH are system paths; the simulator resolves each inside the
 * simulated root when that directory exists there (where the agent installs
 * the shim with `--root`), else on the host (the simulated dom0 shares the
 * host's /usr/bin, hence its real scrypt).
 */
import fs from "node:fs";
import path from "node:path";
import { simPaths } from "./layout.ts";

/** systemd's PATH for system services (systemd.exec(5), "Environment variables in spawned processes"). */
export const SYSTEMD_SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

/** qubesd.service as qubes-core-admin installs it (linux/systemd/qubesd.service): no Environment= of its own. */
const QUBESD_UNIT = `[Unit]
Description=Qubes OS daemon
After=qubes-db-dom0.service libvirtd.service virtxend.service virtnodedevd.service qubes-qmemman.service
After=remote-fs.target
Before=systemd-user-sessions.service

[Service]
Type=notify
ExecStart=/usr/bin/qubesd
KillMode=process
Restart=on-failure
RestartSec=1s

[Install]
WantedBy=multi-user.target
`;

/** Writes qubesd's unit file into a simulated root, which turns the simulated qubesd on. */
export function writeQubesdUnit(root: string): void {
  const unit = simPaths(root).qubesdUnit;
  fs.mkdirSync(path.dirname(unit), { recursive: true });
  fs.writeFileSync(unit, QUBESD_UNIT);
}

/** True when the root has a qubesd unit file, i.e. backups run with qubesd's environment. */
export function hasQubesd(root: string): boolean {
  return fs.existsSync(simPaths(root).qubesdUnit);
}

/**
 * Splits the value of one `Environment=` line into assignments: words
 * separated by spaces, double or single quotes group, a backslash escapes
 * the next character (systemd.syntax(7), simplified: no specifiers).
 */
export function environmentWords(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quote = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && i + 1 < value.length) {
      cur += value[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = "";
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === " " || c === "\t") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/**
 * The `Environment=` settings of unit texts applied in order, within their
 * `[Service]` sections; an empty `Environment=` clears what came before.
 */
export function unitEnvironment(texts: string[]): Record<string, string> {
  let env: Record<string, string> = {};
  for (const text of texts) {
    let section = "";
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line.startsWith("[")) section = line;
      if (section !== "[Service]" || !line.startsWith("Environment=")) continue;
      const value = line.slice("Environment=".length);
      if (value.trim() === "") env = {};
      for (const w of environmentWords(value)) {
        const eq = w.indexOf("=");
        if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1);
      }
    }
  }
  return env;
}

/** The unit file and drop-ins of qubesd.service under `root`, in the order systemd applies them. */
export function qubesdUnitFiles(root: string): string[] {
  const p = simPaths(root);
  const dirs = [path.join(p.root, "usr/lib/systemd/system/qubesd.service.d"), p.qubesdDropIns];
  const byName = new Map<string, string>();
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(d).filter((n) => n.endsWith(".conf"));
    } catch {
      continue;
    }
    for (const n of names) byName.set(n, path.join(d, n));
  }
  const dropIns = [...byName.keys()].sort().map((n) => byName.get(n)!);
  return [p.qubesdUnit, ...dropIns].filter((f) => fs.existsSync(f));
}

/**
 * The environment qubesd's processes get on the simulated system, with PATH
 * entries resolved inside `root` where they exist there.
 * @returns an environment for spawn; `HOME=/root`, `LANG=C.UTF-8` and PATH
 *   unless the unit files set them.
 */
export function qubesdEnvironment(root: string): NodeJS.ProcessEnv {
  const set = unitEnvironment(qubesdUnitFiles(root).map((f) => fs.readFileSync(f, "utf8")));
  const env: Record<string, string> = { HOME: "/root", LANG: "C.UTF-8", PATH: SYSTEMD_SERVICE_PATH, ...set };
  const abs = path.resolve(root);
  env.PATH = env
    .PATH!.split(":")
    .map((d) => (path.isAbsolute(d) && fs.existsSync(path.join(abs, d)) ? path.join(abs, d) : d))
    .join(":");
  return env as NodeJS.ProcessEnv;
}
