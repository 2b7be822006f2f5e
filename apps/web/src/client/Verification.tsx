"use client";
import type { Verification as VerificationView, VerificationResult } from "@qubes-dedup/service";
import { formatAge } from "../shared/format.ts";
import { StatusBadge, Time } from "./bits.tsx";

/** One line: "Repository check: succeeded 3 days ago (time) — message", or "never verified". */
function Line({ label, result, testId }: { label: string; result: VerificationResult | null; testId: string }) {
  return (
    <div className="verify-line" data-testid={testId} data-status={result?.status ?? "never"}>
      <span className="label">{label}</span>{" "}
      {result ? (
        <>
          <StatusBadge status={result.status} /> {formatAge(result.at)} (<Time value={result.at} />)
          {result.snapshotRef && <span className="mono"> of {result.snapshotRef.slice(0, 12)}</span>}
          {result.message && <div className={result.status === "failed" ? "error" : "muted"}>{result.message}</div>}
        </>
      ) : (
        <span className="badge badge-never">never verified</span>
      )}
    </div>
  );
}

/**
 * When the repository (or snapshot) was last checked and drilled, with the
 * result; "never verified" until it has been.
 */
export function Verification({ value, scope }: { value: VerificationView; scope: "repository" | "snapshot" }) {
  return (
    <div className="verification" data-testid="verification">
      <Line label={scope === "repository" ? "Last check" : "Last check since it was stored"} result={value.lastCheck} testId="verify-check" />
      <Line label={scope === "repository" ? "Last restore drill" : "Last restore drill of it"} result={value.lastDrill} testId="verify-drill" />
      {!value.lastCheck && !value.lastDrill && (
        <div className="muted">
          Run a check or a restore drill on the <a href="/schedules">Schedules</a> page (and schedule one).
        </div>
      )}
    </div>
  );
}
