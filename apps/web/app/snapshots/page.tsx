"use client";
import { Suspense, useState } from "react";
import { useSearchParams } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { SnapshotTable, sortRows, type Sort } from "../../src/client/SnapshotTable.tsx";
import { useTRPC } from "../../src/client/trpc.ts";
import { lastUsedRepository, pickRepository, rememberRepository } from "../../src/client/repository-choice.ts";

/** Snapshots of one repository: filter by qube and UTC date range, sort by any column. */
export default function SnapshotsPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Snapshots />
    </Suspense>
  );
}

function Snapshots() {
  const trpc = useTRPC();
  const params = useSearchParams();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  const [picked, setPicked] = useState<number | null>(Number(params.get("repo")) || null);
  const [qube, setQube] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "time", dir: "desc" });
  const repositoryId = picked ?? (repos.data ? pickRepository(repos.data, lastUsedRepository())?.id : undefined) ?? 0;
  const enabled = repositoryId > 0;
  const names = useQuery({ ...trpc.snapshots.qubeNames.queryOptions({ repositoryId }), enabled });
  const rows = useQuery({
    ...trpc.snapshots.list.queryOptions({
      repositoryId,
      qube: qube || undefined,
      from: from ? new Date(`${from}T00:00:00Z`) : undefined,
      to: to ? new Date(`${to}T23:59:59.999Z`) : undefined,
    }),
    enabled,
  });

  if (repos.isPending) return <p className="muted">Loading…</p>;
  if (repos.isError) return <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>;
  if (repos.data.length === 0) return <p className="empty">No repository yet: see the overview for how to add one.</p>;
  return (
    <section className="panel">
      <h1>Snapshots</h1>
      <div className="filters">
        <label>
          Repository
          <select value={repositoryId} onChange={(e) => setPicked(Number(e.target.value))} data-testid="filter-repo">
            {repos.data.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({r.engine})
              </option>
            ))}
          </select>
        </label>
        <label>
          Qube
          <select value={qube} onChange={(e) => setQube(e.target.value)} data-testid="filter-qube">
            <option value="">all qubes</option>
            {(names.data ?? []).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          From (UTC)
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="filter-from" />
        </label>
        <label>
          To (UTC)
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="filter-to" />
        </label>
      </div>
      {rows.isPending ? (
        <p className="muted">Loading snapshots…</p>
      ) : rows.isError ? (
        <p className="error">Cannot load snapshots: {rows.error.message}</p>
      ) : rows.data.length === 0 ? (
        <p className="empty" data-testid="no-match">
          No snapshot matches: widen the date range or pick another qube.
        </p>
      ) : (
        <SnapshotTable rows={sortRows(rows.data, sort)} sort={sort} onSort={setSort} />
      )}
    </section>
  );
}
