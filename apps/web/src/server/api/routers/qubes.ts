import { z } from "zod";
import { listRestorePoints, qubesOverview, repositoryNameSchema } from "@qubes-dedup/service";
import { authedProcedure, router, userError } from "../trpc.ts";

/** The Qubes page: are my qubes safe? One row per qube, and the repository's restore points. */
export const qubesRouter = router({
  /** One row per qube dom0 listed at its last backup (never backed up ones too), with its last backup, dom0's last verdict and its sizes. */
  overview: authedProcedure.input(z.object({ repository: repositoryNameSchema })).query(({ ctx, input }) => userError(() => qubesOverview(ctx.db, input.repository))),
  /** Restore points, newest first: each qube's latest snapshot at or before a snapshot, with the age of its data. */
  points: authedProcedure.input(z.object({ repository: repositoryNameSchema })).query(({ ctx, input }) => userError(() => listRestorePoints(ctx.db, input.repository))),
});
