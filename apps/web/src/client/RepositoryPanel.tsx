"use client";
import { useQuery } from "@tanstack/react-query";
import type { RepositoryView } from "@qubes-dedup/service";
import { formatAge, formatRatio, jobKindText } from "../shared/format.ts";
import { Bytes, StatusBadge, Time } from "./bits.tsx";
import { SizeChart } from "./SizeChart.tsx";
import { SnapshotTable } from "./SnapshotTable.tsx";
import { Verification } from "./Verification.tsx";
import { useTRPC } from "./trpc.ts";

/** Snapshots shown on the overview; the rest are on /snapshots. */
const RECENT = 5;

/** Overview of one repository: facts, cards, warnings, size chart, failed jobs, recent snapshots. */
export function RepositoryPanel({ repo }: { repo: RepositoryView }) {
  const trpc = useTRPC();
  const snapshots = useQuery(trpc.snapshots.list.queryOptions({ repositoryId: repo.id }));
  const engine = useQuery(trpc.repositories.engines.queryOptions(undefined, { staleTime: 5 * 60_000 })).data?.find((e) => e.kind === repo.engine);
  return (
    <section className="panel" data-testid={`repository-${repo.name}`}>
      <h2>
        Repository <span data-testid="repo-name">{repo.name}</span>
      </h2>
      <dl className="facts">
        <dt>Engine</dt>
        <dd data-testid="repo-engine">
          {repo.engine}
          {engine?.version ? ` ${engine.version}` : ""}
          {engine?.problem && <span className="error"> ({engine.problem})</span>}
        </dd>
        <dt>Location</dt>
        <dd data-testid="repo-location">
          <code>{repo.location}</code>
        </dd>
        {repo.appendOnly && (
          <>
            <dt>Deletions</dt>
            <dd data-testid="repo-append-only">append-only: retention runs on the server (<a href="/schedules">how</a>)</dd>
          </>
        )}
        <dt>Last job</dt>
        <dd data-testid="repo-last-job">
          {repo.lastJob ? (
            <>
              <StatusBadge status={repo.lastJob.status} /> {jobKindText(repo.lastJob.kind)}, started <Time value={repo.lastJob.startedAt} />
            </>
          ) : (
            "none yet"
          )}
        </dd>
      </dl>
      <Cards repo={repo} />
      <Verification value={repo.verification} scope="repository" />
      {repo.warnings.length > 0 && (
        <ul className="warnings" data-testid="warnings">
          {repo.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {repo.failedJobs.length > 0 && <FailedJobs jobs={repo.failedJobs} />}
      {snapshots.isPending ? (
        <p className="muted">Loading snapshots…</p>
      ) : snapshots.isError ? (
        <p className="error">Cannot load snapshots: {snapshots.error.message}</p>
      ) : snapshots.data.length === 0 ? (
        <EmptySnapshots repo={repo.name} />
      ) : (
        <>
          <h3>Size over time</h3>
          <SizeChart rows={snapshots.data} />
          <h3>
            Recent snapshots{" "}
            <a href={`/snapshots?repo=${repo.id}`} className="muted">
              (all {snapshots.data.length})
            </a>
          </h3>
          <SnapshotTable rows={snapshots.data.slice(0, RECENT)} />
        </>
      )}
    </section>
  );
}

function Cards({ repo }: { repo: RepositoryView }) {
  return (
    <div className="cards">
      <div className="card">
        <div className="label">Last backup</div>
        <div className="value" data-testid="repo-last-backup">
          {repo.lastBackupAt ? formatAge(repo.lastBackupAt) : "never"}
        </div>
        {repo.lastBackupAt && (
          <div className="sub">
            <Time value={repo.lastBackupAt} />
          </div>
        )}
      </div>
      <div className="card">
        <div className="label">Repository size</div>
        <div className="value">
          <Bytes value={repo.repositoryBytes} testId="repo-size" />
        </div>
      </div>
      <div className="card">
        <div className="label">Logical size</div>
        <div className="value">
          <Bytes value={repo.logicalBytes} testId="repo-logical" />
        </div>
        <div className="sub">
          all {repo.snapshotCount} snapshot{repo.snapshotCount === 1 ? "" : "s"}
        </div>
      </div>
      <div className="card">
        <div className="label" title="Logical bytes of all snapshots ÷ repository size: deduplication and compression together">
          Dedup ratio
        </div>
        <div className="value" data-testid="repo-ratio">
          {formatRatio(repo.dedupRatio)}
        </div>
      </div>
      <div className="card" data-testid="repo-next-backup">
        <div className="label">Next scheduled backup</div>
        <div className="value">
          {repo.nextBackupAt ? formatUntil(repo.nextBackupAt) : <span className="muted">none</span>}
        </div>
        <div className="sub">
          {repo.nextBackupAt ? <Time value={repo.nextBackupAt} /> : <a href="/schedules">add a schedule</a>}
        </div>
      </div>
    </div>
  );
}

/** How far ahead `when` is: "in 5 min", "in 3 h", "in 2 days" ("now" when past). */
function formatUntil(when: Date, now: Date = new Date()): string {
  const s = (when.getTime() - now.getTime()) / 1000;
  if (s < 60) return "now";
  if (s < 3600) return `in ${Math.floor(s / 60)} min`;
  if (s < 86400) return `in ${Math.floor(s / 3600)} h`;
  const d = Math.floor(s / 86400);
  return `in ${d} day${d === 1 ? "" : "s"}`;
}

function FailedJobs({ jobs }: { jobs: RepositoryView["failedJobs"] }) {
  return (
    <div className="failed" data-testid="failed-jobs">
      <h3>Failed jobs</h3>
      <ul>
        {jobs.map((j) => (
          <li key={j.id}>
            <Time value={j.startedAt} /> {jobKindText(j.kind)}: <span className="error">{j.error ?? "no reason recorded"}</span>
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
        Run a backup from dom0 whose location is <code>qubes-dedup ingest --repo {repo}</code> in this backup qube, e.g.{" "}
        <code>qubes-dedup-agent backup</code>.
      </p>
    </div>
  );
}
