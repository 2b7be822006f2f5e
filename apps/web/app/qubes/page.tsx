"use client";
import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { QubeOverview } from "@qubes-dedup/service";
import { RestorePoints } from "../../src/client/RestorePoints.tsx";
import { Sparkline } from "../../src/client/Sparkline.tsx";
import { TaskProgress } from "../../src/client/TaskProgress.tsx";
import { Time } from "../../src/client/bits.tsx";
import { RepositorySelect, useRepositoryChoice } from "../../src/client/RepositorySelect.tsx";
import { useTRPC } from "../../src/client/trpc.ts";
import { formatAge } from "../../src/shared/format.ts";

/** What dom0's last changed-only backup said about the qube's data. */
function changeText(c: QubeOverview["change"]): string {
  if (!c) return "unknown (no changed-only backup judged it yet)";
  if (c.state === "unchanged") return "no";
  if (c.state === "backed-up") return "no (changed, and backed up then)";
  return "yes: that backup failed";
}

/** Qubes: are my qubes safe? One row per qube dom0 listed at its last backup; restore points below. */
export default function QubesPage() {
  const trpc = useTRPC();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  const { repo, pick } = useRepositoryChoice(repos.data);
  const rows = useQuery({ ...trpc.qubes.overview.queryOptions({ repository: repo?.name ?? "default" }), enabled: !!repo });
  const [taskId, setTaskId] = useState<number | null>(null);
  const send = useMutation(trpc.requests.restorePoint.mutationOptions({ onSuccess: (t) => setTaskId(t.id) }));
  if (repos.isPending) return <p className="muted">Loading…</p>;
  if (repos.isError) return <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>;
  if (!repo) return <p className="empty">No repository yet: add one on the Repositories page first.</p>;
  const never = rows.data?.filter((r) => r.neverBackedUp).length ?? 0;
  return (
    <>
      <section className="panel">
        <h1>Qubes</h1>
        <RepositorySelect repos={repos.data} value={repo.name} onPick={pick} testId="qubes-repo" />
        {rows.isError && <p className="error">{rows.error.message}</p>}
        {rows.data && rows.data.length === 0 && <p className="empty">No backup in this repository yet, so the list of dom0&apos;s qubes is not known: run a backup first.</p>}
        {never > 0 && (
          <p className="warnings-line" data-testid="qubes-never">
            {never} qube(s) were never backed up into this repository.
          </p>
        )}
        {rows.data && rows.data.length > 0 && (
          <div className="table-wrap">
            <table data-testid="qubes-table">
              <thead>
                <tr>
                  <th>Qube</th>
                  <th>Last backup of its data</th>
                  <th>Changed since?</th>
                  <th>Size over time</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.data.map((q) => (
                  <tr key={q.name} data-testid="qube-row" data-qube={q.name} data-never={q.neverBackedUp} className={q.neverBackedUp ? "never" : undefined}>
                    <td>{q.name}</td>
                    <td>
                      {q.last ? (
                        <>
                          <Time value={q.last.createdAt} /> <span className="muted">({formatAge(q.last.createdAt)}, {q.last.shortId})</span>
                        </>
                      ) : (
                        <strong>never backed up</strong>
                      )}
                    </td>
                    <td title={q.change?.reason}>{changeText(q.change)}</td>
                    <td>
                      <Sparkline sizes={q.sizes} testId={`qube-sizes-${q.name}`} />
                    </td>
                    <td>
                      {q.last && (
                        <button onClick={() => send.mutate({ repository: repo.name, point: "latest", qubes: [q.name], conflicts: "rename" })} disabled={send.isPending} data-testid={`qube-restore-${q.name}`}>
                          Restore this qube
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {send.isError && (
          <p className="error" role="alert">
            {send.error.message}
          </p>
        )}
      </section>
      {taskId !== null && <TaskProgress id={taskId} />}
      <RestorePoints repository={repo.name} />
    </>
  );
}
