import { z } from "zod";
import { addRepositoryFromDashboard, engineStatus, listRepositories, repositoryInput, testConnection, testRegistered } from "@qubes-dedup/service";
import { authedProcedure, dbId, router, userError } from "../trpc.ts";

/** Registered repositories: list, add, test. */
export const repositoriesRouter = router({
  /** Every repository with totals, last job, failed jobs and warnings. */
  list: authedProcedure.query(({ ctx }) => listRepositories(ctx.db)),
  /** The restic and borg versions this backup qube runs (a missing one says what to install). */
  engines: authedProcedure.query(({ ctx }) => engineStatus(ctx.db)),
  /** Stores the password (0600) and registers the repository, initialising it when empty. */
  add: authedProcedure.input(repositoryInput).mutation(({ ctx, input }) => userError(() => addRepositoryFromDashboard(ctx.db, input))),
  /** Tries a location and password without registering anything (a mutation: it carries a secret). */
  test: authedProcedure.input(repositoryInput).mutation(({ input }) => testConnection(input)),
  /** Tries a registered repository with its stored password. */
  check: authedProcedure.input(z.object({ id: dbId })).mutation(({ ctx, input }) => userError(() => testRegistered(ctx.db, input.id))),
});
