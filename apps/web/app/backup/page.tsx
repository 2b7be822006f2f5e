"use client";
import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { splitNames, TaskProgress } from "../../src/client/TaskProgress.tsx";
import { useTRPC } from "../../src/client/trpc.ts";
import { Time, StatusBadge } from "../../src/client/bits.tsx";
import { rememberRepository } from "../../src/client/repository-choice.ts";
import { RepositorySelect, useRepositoryChoice } from "../../src/client/RepositorySelect.tsx";
import { ENDED } from "../../src/shared/format.ts";

/** Run a backup now: pick the repository and qubes (or dom0's default set), send the request, watch it. */
export default function BackupPage() {
  const trpc = useTRPC();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  const { repo, pick } = useRepositoryChoice(repos.data);
  const names = useQuery({ ...trpc.snapshots.qubeNames.queryOptions({ repositoryId: repo?.id ?? 0 }), enabled: !!repo });
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [extra, setExtra] = useState("");
  const [taskId, setTaskId] = useState<number | null>(null);
  // A double click fires two submits before React re-renders the disabled button: this ref stops the second.
  const sending = useRef(false);
  const start = useMutation(
    trpc.requests.backup.mutationOptions({
      onSuccess: (t) => setTaskId(t.id),
      onSettled: () => {
        sending.current = false;
        void recent.refetch();
      },
    }),
  );
  const recent = useQuery({ ...trpc.requests.list.queryOptions({ kind: "backup" }), refetchInterval: 1_000 });

  if (repos.isPending) return <p className="muted">Loading…</p>;
  if (repos.isError) return <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>;
  if (!repo) return <p className="empty">No repository yet: add one on the Repositories page first.</p>;
  const qubes = [...chosen, ...splitNames(extra)];
  const inFlight = recent.data?.find((t) => t.repository === repo.name && !ENDED.has(t.state));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (sending.current || inFlight) return;
    sending.current = true;
    rememberRepository(repo.name);
    start.mutate({ repository: repo.name, qubes, exclude: [] });
  };
  const toggle = (n: string) => setChosen((s) => (s.has(n) ? new Set([...s].filter((x) => x !== n)) : new Set([...s, n])));
  return (
    <>
      <section className="panel">
        <h1>Run a backup now</h1>
        <form onSubmit={submit} className="stack">
          <RepositorySelect repos={repos.data} value={repo.name} onPick={pick} testId="backup-repo" />
          <fieldset>
            <legend>Qubes (none ticked: dom0&apos;s default backup set)</legend>
            {(names.data ?? []).map((n) => (
              <label key={n} className="check">
                <input type="checkbox" checked={chosen.has(n)} onChange={() => toggle(n)} data-testid={`backup-qube-${n}`} /> {n}
              </label>
            ))}
            <label>
              Other qubes{" "}
              <input value={extra} onChange={(e) => setExtra(e.target.value)} placeholder="names, space separated" data-testid="backup-extra" />
            </label>
          </fieldset>
          <button type="submit" disabled={start.isPending || !!inFlight} data-testid="backup-start">
            Start backup{qubes.length ? ` of ${qubes.length} qube${qubes.length === 1 ? "" : "s"}` : " (default set)"}
          </button>
          {inFlight && (
            <p className="muted" data-testid="backup-busy">
              Request #{inFlight.id} to {repo.name} is still {inFlight.state}: one backup per repository at a time.
            </p>
          )}
          {start.isError && (
            <p className="error" role="alert" data-testid="backup-error">
              {start.error.message}
            </p>
          )}
        </form>
      </section>
      {taskId !== null && <TaskProgress id={taskId} />}
      {(recent.data?.length ?? 0) > 0 && (
        <section className="panel">
          <h2>Requests since the server started</h2>
          <table data-testid="backup-requests">
            <tbody>
              {recent.data!.map((t) => (
                <tr key={t.id}>
                  <td>#{t.id}</td>
                  <td>
                    <Time value={t.startedAt} />
                  </td>
                  <td>{t.qubes.length ? t.qubes.join(", ") : "default set"}</td>
                  <td>
                    <StatusBadge status={t.state} />
                  </td>
                  <td>{t.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}
