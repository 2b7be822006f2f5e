import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * One borg 1.2 lock holder, parsed from a file name in `<repo>/lock.exclusive/`:
 * `<fqdn>@<node id>.<pid>-<thread id>` (borg/locking.py, get_process_id).
 */
export interface BorgLockHolder { host: string; pid: number }

/** Parses a lock file name; undefined for any other name. */
export function parseBorgLockName(name: string): BorgLockHolder | undefined {
  const m = /^(.+)@\d+\.(\d+)-\d+$/.exec(name);
  return m ? { host: m[1]!, pid: Number(m[2]) } : undefined;
}

/** True when `host` (borg's fully qualified name) is this machine's name. */
export function isThisHost(host: string, hostname = os.hostname()): boolean {
  return host === hostname || host.split(".")[0] === hostname.split(".")[0];
}

/** True when a process with this id exists (EPERM: it does, as another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The holders of a local borg repository's exclusive lock, and whether every
 * one is stale (this host, process gone), which is when `borg break-lock`
 * (which removes every lock) is safe. Empty when there is no lock.
 */
export function borgLockHolders(location: string): { holders: BorgLockHolder[]; allStale: boolean } {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(location, "lock.exclusive"));
  } catch {
    return { holders: [], allStale: false };
  }
  const holders = names.map(parseBorgLockName);
  const known = holders.filter((h): h is BorgLockHolder => h !== undefined);
  const allStale = known.length > 0 && known.length === holders.length && known.every((h) => isThisHost(h.host) && !processExists(h.pid));
  return { holders: known, allStale };
}
