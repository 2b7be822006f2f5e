import { z } from "zod";
import { listRepositories } from "./repositories.ts";
import { listSnapshots } from "./snapshots.ts";
import { publicProcedure, router, createCallerFactory } from "./trpc.ts";

/** The dashboard's tRPC API. All reads come from the index database. */
export const appRouter = router({
  repositories: router({
    /** Every repository with totals, last job and failed jobs. */
    list: publicProcedure.query(({ ctx }) => listRepositories(ctx.db)),
  }),
  snapshots: router({
    /** One repository's snapshots, newest first, with dedup ratio. */
    list: publicProcedure
      .input(z.object({ repositoryId: z.number().int().positive() }))
      .query(({ ctx, input }) => listSnapshots(ctx.db, input.repositoryId)),
  }),
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller({ db })`. */
export const createCaller = createCallerFactory(appRouter);
