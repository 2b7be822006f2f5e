import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { listRepositories } from "./repositories.ts";
import { getSnapshot, qubeNames } from "./snapshot-detail.ts";
import { listSnapshots } from "./snapshots.ts";
import { authedProcedure, router, createCallerFactory } from "./trpc.ts";

const repositoryId = z.number().int().positive();

/** The dashboard's tRPC API. All reads come from the index database; every call needs the session token. */
export const appRouter = router({
  repositories: router({
    /** Every repository with totals, last job, failed jobs and warnings. */
    list: authedProcedure.query(({ ctx }) => listRepositories(ctx.db)),
  }),
  snapshots: router({
    /** One repository's snapshots, newest first, with dedup ratio; optionally only those holding a qube or in a time range. */
    list: authedProcedure
      .input(z.object({ repositoryId, qube: z.string().min(1).max(64).optional(), from: z.date().optional(), to: z.date().optional() }))
      .query(({ ctx, input }) => listSnapshots(ctx.db, input.repositoryId, { qube: input.qube, from: input.from, to: input.to })),
    /** One snapshot with its qubes and volumes; NOT_FOUND when there is none. */
    get: authedProcedure.input(z.object({ id: z.number().int().positive() })).query(async ({ ctx, input }) => {
      const s = await getSnapshot(ctx.db, input.id);
      if (!s) throw new TRPCError({ code: "NOT_FOUND", message: `There is no snapshot ${input.id}: pick one from the snapshot list.` });
      return s;
    }),
    /** Qube names found in a repository's snapshots (for the filter). */
    qubeNames: authedProcedure.input(z.object({ repositoryId })).query(({ ctx, input }) => qubeNames(ctx.db, input.repositoryId)),
  }),
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller({ db, auth })`. */
export const createCaller = createCallerFactory(appRouter);
