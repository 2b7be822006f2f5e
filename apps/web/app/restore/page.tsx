"use client";
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { TaskProgress } from "../../src/client/TaskProgress.tsx";
import { useTRPC } from "../../src/client/trpc.ts";
import { rememberRepository } from "../../src/client/repository-choice.ts";
import { RepositorySelect, useRepositoryChoice } from "../../src/client/RepositorySelect.tsx";
import { StatusBadge, Time } from "../../src/client/bits.tsx";

/** Restore: pick a snapshot and qubes, options, send the request to dom0, watch it; restore history below. */
export default function RestorePage() {
  const trpc = useTRPC();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  const { repo, pick } = useRepositoryChoice(repos.data);
  const snaps = useQuery({ ...trpc.snapshots.list.queryOptions({ repositoryId: repo?.id ?? 0 }), enabled: !!repo });
  const [snapId, setSnapId] = useState<string | null>(null);
  const snap = snaps.data?.find((s) => s.engineSnapshotId === snapId) ?? snaps.data?.[0];
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [rename, setRename] = useState(true);
  const [verifyOnly, setVerifyOnly] = useState(false);
  const [paranoid, setParanoid] = useState(false);
  const [taskId, setTaskId] = useState<number | null>(null);
  const send = useMutation(trpc.requests.restore.mutationOptions({ onSuccess: (t) => setTaskId(t.id) }));

  if (repos.isPending) return <p className="muted">Loading…</p>;
  if (repos.isError) return <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>;
  if (!repo) return <p className="empty">No repository yet: add one on the Repositories page first.</p>;
  const qubes = snap ? snap.qubes.filter((q) => chosen.has(q)) : [];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!snap) return;
    rememberRepository(repo.name);
    send.mutate({ repository: repo.name, snapshot: snap.engineSnapshotId, qubes, verifyOnly, paranoid, conflicts: rename ? "rename" : undefined });
  };
  const toggle = (n: string) => setChosen((s) => (s.has(n) ? new Set([...s].filter((x) => x !== n)) : new Set([...s, n])));
  return (
    <>
      <section className="panel">
        <h1>Restore</h1>
        <p className="muted">
          dom0 asks you to confirm every restore; it then runs qvm-backup-restore with the snapshot streamed from this backup qube.
        </p>
        <form onSubmit={submit} className="stack">
          <RepositorySelect repos={repos.data} value={repo.name} onPick={(name) => (pick(name), setSnapId(null))} testId="restore-repo" />
          {snaps.data && snaps.data.length === 0 && <p className="empty">This repository has no snapshot yet.</p>}
          {snap && (
            <>
              <label>
                Snapshot{" "}
                <select value={snap.engineSnapshotId} onChange={(e) => (setSnapId(e.target.value), setChosen(new Set()))} data-testid="restore-snapshot">
                  {snaps.data!.map((s) => (
                    <option key={s.id} value={s.engineSnapshotId}>
                      {s.createdAt.toISOString().slice(0, 19).replace("T", " ")} UTC — {s.engineSnapshotId.slice(0, 12)} — {s.qubes.join(", ")}
                    </option>
                  ))}
                </select>
              </label>
              <fieldset>
                <legend>Qubes (none ticked: every qube in the snapshot)</legend>
                {snap.qubes.map((n) => (
                  <label key={n} className="check">
                    <input type="checkbox" checked={chosen.has(n)} onChange={() => toggle(n)} data-testid={`restore-qube-${n}`} /> {n}
                  </label>
                ))}
              </fieldset>
              <fieldset>
                <legend>Options</legend>
                <label className="check">
                  <input type="checkbox" checked={rename} onChange={(e) => setRename(e.target.checked)} data-testid="restore-rename" /> Rename
                  qubes that conflict with existing ones (--rename-conflicting)
                </label>
                <label className="check">
                  <input type="checkbox" checked={verifyOnly} onChange={(e) => setVerifyOnly(e.target.checked)} data-testid="restore-verify-only" />{" "}
                  Verify only: read and check everything, restore nothing (--verify-only)
                </label>
                <label className="check">
                  <input type="checkbox" checked={paranoid} onChange={(e) => setParanoid(e.target.checked)} data-testid="restore-paranoid" />{" "}
                  Paranoid mode: decrypt in a disposable qube, never in dom0 (--paranoid-mode; the template of management_dispvm needs the
                  qubes-dedup package)
                </label>
              </fieldset>
              <button type="submit" disabled={send.isPending} data-testid="restore-send">
                Send restore request
              </button>
            </>
          )}
          {send.isError && (
            <p className="error" role="alert" data-testid="restore-error">
              {send.error.message}
            </p>
          )}
        </form>
      </section>
      {taskId !== null && <TaskProgress id={taskId} />}
      <RestoreHistory />
    </>
  );
}

function RestoreHistory() {
  const trpc = useTRPC();
  const history = useQuery({ ...trpc.requests.history.queryOptions({ kind: "restore" }), refetchInterval: 2_000 });
  if (!history.data || history.data.length === 0) return null;
  return (
    <section className="panel">
      <h2>Restore history</h2>
      <table data-testid="restore-history">
        <thead>
          <tr>
            <th>Started</th>
            <th>Repository</th>
            <th>Snapshot</th>
            <th>Outcome</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {history.data.map((h) => (
            <tr key={h.id} data-testid="restore-history-row" data-status={h.status}>
              <td>
                <Time value={h.startedAt} />
              </td>
              <td>{h.repository}</td>
              <td className="mono">{h.snapshotRef?.slice(0, 12) ?? "—"}</td>
              <td>
                <StatusBadge status={h.status} />
              </td>
              <td>{h.error ?? h.summary ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
