/**
 * The backup qube's side of the qrexec requests (`qubes.DedupBackup`,
 * `qubes.DedupRestore`), implemented in `@qubes-dedup/service` (qrexec.ts):
 * each call spawns `qrexec-client-vm dom0 …`, records a job row (kind
 * "backup-request" / "restore") and settles with the outcome. Declared here
 * so the dashboard states exactly what it relies on.
 */
import type { Database } from "@qubes-dedup/db";

/** States a request passes through; "waiting" = dom0 asks the user to confirm. */
export type RequestState = "waiting" | "running" | "succeeded" | "failed" | "refused";

/** Callbacks of a request. Percent is 0-100. */
export interface RequestEvents {
  onState?(s: RequestState): void;
  onProgress?(percent: number): void;
}

/** How a request ended; `message` is one sentence for the user. */
export interface RequestOutcome {
  jobId: number;
  outcome: "succeeded" | "failed" | "refused";
  message: string;
}

export interface BackupRequest {
  repository: string;
  qubes?: string[];
  exclude?: string[];
}

export interface RestoreRequest {
  repository: string;
  snapshot: string;
  qubes?: string[];
  verifyOnly?: boolean;
  conflicts?: "rename" | "skip";
}

/** The two functions of the service lib the dashboard calls. */
export interface QrexecApi {
  requestBackup(db: Database, req: BackupRequest, events?: RequestEvents, signal?: AbortSignal): Promise<RequestOutcome>;
  requestRestore(db: Database, req: RestoreRequest, events?: RequestEvents, signal?: AbortSignal): Promise<RequestOutcome>;
}

/** The service lib lacks the qrexec functions (an older build). */
export class QrexecUnavailableError extends Error {
  override name = "QrexecUnavailableError";
}

/**
 * The service lib's qrexec functions.
 * @throws QrexecUnavailableError when the installed service lib has none.
 */
export async function qrexecApi(): Promise<QrexecApi> {
  const mod = (await import("@qubes-dedup/service")) as unknown as Partial<QrexecApi>;
  if (typeof mod.requestBackup !== "function" || typeof mod.requestRestore !== "function") {
    throw new QrexecUnavailableError("This build of qubes-dedup cannot send requests to dom0 (no qrexec support in the service lib): update and rebuild it.");
  }
  return { requestBackup: mod.requestBackup, requestRestore: mod.requestRestore };
}
