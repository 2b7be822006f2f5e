"use client";
import { useQuery } from "@tanstack/react-query";
import { RepositoryPanel } from "../src/client/RepositoryPanel.tsx";
import { useTRPC } from "../src/client/trpc.ts";
import { lastUsedRepository, pickRepository } from "../src/client/repository-choice.ts";
import type { RepositoryView } from "@qubes-dedup/service";

/** The repository pages start with (see pickRepository) first, the others by name. */
function byUse<R extends RepositoryView>(repos: R[]): R[] {
  const first = pickRepository(repos, lastUsedRepository());
  return first ? [first, ...repos.filter((r) => r !== first)] : repos;
}

/** Home: every repository with its snapshots, the one in use first. */
export default function HomePage() {
  const trpc = useTRPC();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  if (repos.isPending) return <p className="muted">Loading…</p>;
  if (repos.isError) return <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>;
  if (repos.data.length === 0) {
    return (
      <div className="empty" data-testid="no-repositories">
        <h1>No repository yet</h1>
        <p>
          Register one in this backup qube with{" "}
          <code className="wrap">qubes-dedup repo add default --engine restic --location /path/to/repo --password-file /path/to/pw</code>,
          then run a backup from dom0 (<code>qubes-dedup-agent backup</code>).
        </p>
      </div>
    );
  }
  return (
    <>
      {byUse(repos.data).map((r) => (
        <RepositoryPanel key={r.id} repo={r} />
      ))}
    </>
  );
}
