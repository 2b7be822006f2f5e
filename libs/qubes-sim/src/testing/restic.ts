import { execFileSync } from "node:child_process";

/** A restic repository as tests reach it: its location and password file. */
export interface ResticRepo {
  location: string;
  passwordFile: string;
}

function restic(r: ResticRepo, args: string[]): string {
  return execFileSync("restic", ["-r", r.location, "--password-file", r.passwordFile, "--no-cache", ...args, "--no-lock"], { encoding: "utf8" });
}

/**
 * Test support: the snapshot ids (64 hex) restic holds in `r`, oldest
 * first, asked of restic itself rather than through qubes-dedup's engine code.
 * @throws Error (with restic's stderr) when restic fails.
 */
export function resticSnapshotIds(r: ResticRepo): string[] {
  return (JSON.parse(restic(r, ["snapshots", "--json"])) as { id: string }[]).map((s) => s.id);
}

/** The ids of the lock files in `r` (one line each); empty when nothing holds the repository. */
export function resticLocks(r: ResticRepo): string[] {
  return restic(r, ["list", "locks"]).split("\n").filter(Boolean);
}
