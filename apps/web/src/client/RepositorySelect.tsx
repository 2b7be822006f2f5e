"use client";
import { useState } from "react";
import { lastUsedRepository, pickRepository, rememberRepository } from "./repository-choice.ts";

/** A registered repository as the selector shows it: its name and engine (restic/borg). */
export interface RepositoryOption {
  id: number;
  name: string;
  engine: string;
}

/**
 * The repository a page works on: the one picked here, else the one last
 * picked or used in this browser, else "default" (`pickRepository`).
 * `pick` remembers the choice for every page with a repository selector.
 */
export function useRepositoryChoice<R extends RepositoryOption & { lastJob: { startedAt: Date } | null }>(repos: R[] | undefined): { repo: R | undefined; pick: (name: string) => void } {
  const [picked, setPicked] = useState<string | null>(null);
  const repo = repos ? pickRepository(repos, picked ?? lastUsedRepository()) : undefined;
  return {
    repo,
    pick: (name) => {
      setPicked(name);
      rememberRepository(name);
    },
  };
}

/** The "Repository" selector shared by the Backup, Restore and Qubes pages; `testId` names it for the e2e tests. */
export function RepositorySelect(props: { repos: RepositoryOption[]; value: string; onPick: (name: string) => void; testId: string }) {
  return (
    <label>
      Repository{" "}
      <select value={props.value} onChange={(e) => props.onPick(e.target.value)} data-testid={props.testId}>
        {props.repos.map((r) => (
          <option key={r.id} value={r.name}>
            {r.name} ({r.engine})
          </option>
        ))}
      </select>
    </label>
  );
}
