"use client";
import { useQuery } from "@tanstack/react-query";
import type { RepositoryView } from "../server/repositories.ts";
import { formatRatio } from "../shared/format.ts";
import { Bytes, StatusBadge, Time } from "./bits.tsx";
import { SnapshotTable } from "./SnapshotTable.tsx";
import { useTRPC } from "./trpc.ts";

/** One repository: its facts, last job, failed jobs and snapshots table. */
export function RepositoryPanel({ repo }: { repo: RepositoryView }) {
  const trpc = useTRPC();
  const snapshots = useQuery(trpc.snapshots.list.queryOptions({ repositoryId: repo.id }));
  return (
    <section className="panel" data-testid={`repository-${repo.name}`}>
      <h2>
        Repository <span data-testid="repo-name">{repo.name}</span>
      </h2>
      <dl className="facts">
        <dt>Engine</dt>
        <dd data-testid="repo-engine">{repo.engine}</dd>
        <dt>Location</dt>
        <dd data-testid="repo-location">
          <code>{repo.location}</code>
        </dd>
        <dt>Repository size</dt>
        <dd>
          <Bytes value={repo.repositoryBytes} testId="repo-size" />
        </dd>
        <dt>Logical size (all snapshots)</dt>
        <dd>
          <Bytes value={repo.logicalBytes} testId="repo-logical" />
        </dd>
        <dt>Dedup ratio</dt>
        <dd data-testid="repo-ratio">{formatRatio(repo.dedupRatio)}</dd>
        <dt>Last job</dt>
        <dd data-testid="repo-last-job">
          {repo.lastJob ? (
            <>
              <StatusBadge status={repo.lastJob.status} /> {repo.lastJob.kind}, started <Time value={repo.lastJob.startedAt} />
            </>
          ) : (
            "none yet"
          )}
        </dd>
      </dl>
      {repo.failedJobs.length > 0 && <FailedJobs jobs={repo.failedJobs} />}
      {snapshots.isPending ? (
        <p className="muted">Loading snapshots…</p>
      ) : snapshots.isError ? (
        <p className="error">Cannot load snapshots: {snapshots.error.message}</p>
      ) : snapshots.data.length === 0 ? (
        <EmptySnapshots repo={repo.name} />
      ) : (
        <SnapshotTable rows={snapshots.data} />
      )}
    </section>
  );
}

function FailedJobs({ jobs }: { jobs: RepositoryView["failedJobs"] }) {
  return (
    <div className="failed" data-testid="failed-jobs">
      <h3>Failed jobs</h3>
      <ul>
        {jobs.map((j) => (
          <li key={j.id}>
            <Time value={j.startedAt} /> {j.kind}: <span className="error">{j.error ?? "no reason recorded"}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function EmptySnapshots({ repo }: { repo: string }) {
  return (
    <div className="empty" data-testid="no-snapshots">
      <p>No snapshots in this repository yet.</p>
      <p>
        Run a backup from dom0, naming this backup qube and <code>qubes-dedup ingest --repo {repo}</code> as the
        location, e.g. <code>qubes-dedup-agent backup</code>.
      </p>
    </div>
  );
}
