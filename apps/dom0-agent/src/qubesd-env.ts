/**
 * The environment systemd gives qubesd.service, read from its unit file and
 * drop-ins under a root (`--root`; `/` in dom0). On Qubes, backups run inside
 * qubesd (`admin.backup.Execute`), so this environment decides which `scrypt`
 * encrypts the backup chunks. The agent's own reading, on purpose
 * independent of the simulator's (libs/qubes-sim), so that tests built on
 * the simulator check it rather than share it.
 *
 * Facts from systemd.unit(5) and systemd.exec(5): the unit file is the first
 * of /etc, /run, /usr/lib that has it; drop-ins are `qubesd.service.d/*.conf`
 * of those directories, a same-named file in an earlier one masking the
 * later, applied in file-name order, so later drop-ins override earlier
 * settings; `Environment=` takes space-separated assignments (quotes group,
 * a backslash escapes) and an empty `Environment=` resets the list.
 */
import fs from "node:fs";
import path from "node:path";

/** systemd's PATH for system services (systemd.exec(5), "Environment variables in spawned processes"). */
export const SYSTEMD_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

/** Unit directories, highest precedence first. */
const UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system"];
const UNIT = "qubesd.service";

/**
 * qubesd's unit file and drop-ins under `root`, in the order systemd applies
 * them (host paths). Empty when no unit file exists there.
 */
export function qubesdUnitFiles(root: string): string[] {
  const unit = UNIT_DIRS.map((d) => path.join(root, d, UNIT)).find((f) => fs.existsSync(f));
  if (!unit) return [];
  const byName = new Map<string, string>();
  for (const d of [...UNIT_DIRS].reverse()) {
    const dir = path.join(root, d, `${UNIT}.d`);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith(".conf")) byName.set(n, path.join(dir, n));
  }
  return [unit, ...[...byName.keys()].sort().map((n) => byName.get(n)!)];
}

/** One `Environment=` value split into its words (quotes group, a backslash escapes the next character). */
function words(value: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && i + 1 < value.length) {
      cur = (cur ?? "") + value[++i];
    } else if (quote) {
      if (c === quote) quote = "";
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur ??= "";
    } else if (c === " " || c === "\t") {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else {
      cur = (cur ?? "") + c;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/**
 * The variables the `Environment=` lines of `[Service]` sections set, the
 * texts applied in order (unit file first, then its drop-ins). Pure.
 */
export function serviceEnvironment(texts: string[]): Record<string, string> {
  let env: Record<string, string> = {};
  for (const text of texts) {
    let section = "";
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line.startsWith("[")) section = line;
      else if (section === "[Service]" && line.startsWith("Environment=")) {
        const value = line.slice("Environment=".length);
        if (value.trim() === "") env = {};
        for (const w of words(value)) {
          const eq = w.indexOf("=");
          if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1);
        }
      }
    }
  }
  return env;
}

/**
 * The PATH qubesd's processes get under `root`: its unit files' PATH, else
 * systemd's default. `undefined` when `root` has no qubesd unit file.
 */
export function qubesdPath(root: string): string | undefined {
  const files = qubesdUnitFiles(root);
  if (files.length === 0) return undefined;
  return serviceEnvironment(files.map((f) => fs.readFileSync(f, "utf8"))).PATH ?? SYSTEMD_DEFAULT_PATH;
}
