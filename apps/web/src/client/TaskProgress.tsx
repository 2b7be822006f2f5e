"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { TaskView } from "@qubes-dedup/service";
import { ENDED, formatBytes, formatDuration } from "../shared/format.ts";
import { StatusBadge } from "./bits.tsx";
import { useTRPC } from "./trpc.ts";

/** What each state means to the user. */
const STATE_TEXT: Record<TaskView["state"], string> = {
  starting: "sending the request to dom0…",
  waiting: "waiting for confirmation in dom0",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  refused: "refused in dom0",
  cancelled: "cancelled",
};

/** Live view of one backup/restore request: state, progress bar, bytes/s, ETA, dom0's notes (its verdict per qube, a restore point's runs), cancel, outcome. */
export function TaskProgress({ id }: { id: number }) {
  const trpc = useTRPC();
  const task = useQuery({
    ...trpc.requests.get.queryOptions({ id }),
    refetchInterval: (q) => (q.state.data && ENDED.has(q.state.data.state) ? false : 500),
  });
  const cancel = useMutation(trpc.requests.cancel.mutationOptions());
  if (task.isPending) return <p className="muted">Loading…</p>;
  if (task.isError) return <p className="error">{task.error.message}</p>;
  const t = task.data;
  const ended = ENDED.has(t.state);
  const pct = t.percent === null ? null : Math.round(t.percent * 10) / 10;
  return (
    <div className="panel task" data-testid="task" data-state={t.state}>
      <h3>
        {t.kind === "backup" ? "Backup" : t.verifyOnly ? "Restore (verify only)" : "Restore"} request #{t.id} to {t.repository}{" "}
        <StatusBadge status={t.state} />
      </h3>
      <p data-testid="task-state" className={t.state === "waiting" ? "waiting" : undefined}>
        {STATE_TEXT[t.state]}
        {t.state === "waiting" && ": confirm the request in the dom0 dialog (policy ask)."}
      </p>
      <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined}>
        <div className="fill" style={{ width: `${pct ?? 0}%` }} />
      </div>
      <p className="muted">
        <span data-testid="task-percent">{pct === null ? "—" : `${pct.toFixed(1)}%`}</span>
        {t.bytesDone !== null && (
          <>
            {" · "}
            <span data-testid="task-bytes">
              {formatBytes(t.bytesDone)}
              {!ended && t.bytesExpected !== null && ` of about ${formatBytes(t.bytesExpected)}`}
            </span>
          </>
        )}
        {t.bytesPerSecond !== null && <> · <span data-testid="task-rate">{formatBytes(t.bytesPerSecond)}/s</span></>}
        {!ended && t.etaSeconds !== null && <> · ETA <span data-testid="task-eta">{formatDuration(t.etaSeconds)}</span></>}
      </p>
      {t.notes.length > 0 && (
        <ul className="task-notes" data-testid="task-notes">
          {t.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      {t.message && (
        <p data-testid="task-message" className={t.state === "succeeded" ? "ok" : "error"}>
          {t.message}
        </p>
      )}
      {!ended && (
        <button type="button" className="secondary" disabled={cancel.isPending} onClick={() => cancel.mutate({ id })} data-testid="task-cancel">
          Cancel
        </button>
      )}
    </div>
  );
}

/** Splits "a b, c" into qube names; the server validates each. */
export function splitNames(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}
