import os from "node:os";
import { processExists } from "./borg-locks.ts";

/**
 * restic's stale-lock rule (restic internal/restic/lock.go, `Lock.Stale`): a
 * lock not refreshed for 30 minutes is stale; a younger one is stale only
 * when its host name is this machine's and its process is not running here.
 * Live locks are refreshed every 5 minutes, so the 30 minutes never pass for one.
 */
export const RESTIC_STALE_AFTER_S = 30 * 60;

/** The fields of a restic lock file (`restic cat lock <id>`, JSON) that decide whether it is stale. */
export interface ResticLock { time: Date; hostname: string; pid: number }

/** Parses `restic cat lock <id>`'s JSON; undefined for anything else. */
export function parseResticLock(json: string): ResticLock | undefined {
  try {
    const l = JSON.parse(json) as { time?: string; hostname?: string; pid?: number };
    if (typeof l.time !== "string" || typeof l.hostname !== "string" || typeof l.pid !== "number") return undefined;
    return { time: new Date(l.time), hostname: l.hostname, pid: l.pid };
  } catch {
    return undefined;
  }
}

/**
 * True when `restic unlock` would remove this lock although it may be another
 * machine's live run: young, of this host name, its process not running here.
 * Backup qubes of several machines are often all named "backup", so one
 * machine's unlock would take another's lock, and its prune could then
 * delete the data that machine's backup in progress has stored but no
 * snapshot refers to yet.
 */
export function mayBeAnotherMachines(lock: ResticLock, now = new Date(), hostname = os.hostname(), alive: (pid: number) => boolean = processExists): boolean {
  const young = now.getTime() - lock.time.getTime() < RESTIC_STALE_AFTER_S * 1000;
  return young && lock.hostname === hostname && !alive(lock.pid);
}
