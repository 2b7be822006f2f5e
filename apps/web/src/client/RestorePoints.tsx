"use client";
import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { formatDuration } from "../shared/format.ts";
import { Time } from "./bits.tsx";
import { TaskProgress } from "./TaskProgress.tsx";
import { useTRPC } from "./trpc.ts";

/** How many restore points are listed (newest first). */
const SHOWN = 20;

/**
 * The repository's restore points, newest first: each qube's latest
 * snapshot at or before a snapshot, and how old each qube's data is there.
 * "Restore this point" asks dom0, which plans it from its own ledger and
 * confirms once.
 */
export function RestorePoints({ repository }: { repository: string }) {
  const trpc = useTRPC();
  const points = useQuery(trpc.qubes.points.queryOptions({ repository }));
  const [open, setOpen] = useState<string | null>(null);
  const [taskId, setTaskId] = useState<number | null>(null);
  const send = useMutation(trpc.requests.restorePoint.mutationOptions({ onSuccess: (t) => setTaskId(t.id) }));
  if (!points.data) return null;
  return (
    <section className="panel" data-testid="restore-points">
      <h2>Restore points</h2>
      <p className="muted">A restore point takes each qube from its latest backup at or before that time; dom0 checks the plan against its own ledger.</p>
      {points.data.length === 0 && <p className="empty">No restore point yet: run a backup first.</p>}
      <ul className="points">
        {points.data.slice(0, SHOWN).map((p) => (
          <li key={p.backupId} data-testid="restore-point" data-point={p.backupId}>
            <div className="point-head">
              <button className="secondary-neutral" onClick={() => setOpen(open === p.backupId ? null : p.backupId)} aria-expanded={open === p.backupId}>
                <Time value={p.createdAt} />
              </button>
              <span className="muted">
                {p.qubes.length} qube(s) from {p.snapshots} snapshot(s)
              </span>
              <button onClick={() => send.mutate({ repository, point: p.backupId, qubes: [], conflicts: "rename" })} disabled={send.isPending} data-testid="restore-point-send">
                Restore this point
              </button>
            </div>
            {open === p.backupId && (
              <table data-testid="restore-point-qubes">
                <thead>
                  <tr>
                    <th>Qube</th>
                    <th>Snapshot</th>
                    <th>Age of its data</th>
                  </tr>
                </thead>
                <tbody>
                  {p.qubes.map((q) => (
                    <tr key={q.name} data-testid="restore-point-qube" data-qube={q.name}>
                      <td>{q.name}</td>
                      <td className="mono">{q.shortId}</td>
                      <td>{q.ageSeconds === 0 ? "this backup" : `${formatDuration(Math.round(q.ageSeconds))} older`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </li>
        ))}
      </ul>
      {send.isError && (
        <p className="error" role="alert">
          {send.error.message}
        </p>
      )}
      {taskId !== null && <TaskProgress id={taskId} />}
    </section>
  );
}
