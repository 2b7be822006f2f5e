import { z } from "zod";
import { listRuns, readDataSubsetSchema, runMaintenance, SCHEDULE_KINDS } from "@qubes-dedup/service";
import { authedProcedure, dbId, router } from "../trpc.ts";

/** Retention, check, drill and backup runs started by hand, and the run log. */
export const maintenanceRouter = router({
  /** Starts a retention, check, drill or backup run now, in the background; its outcome appears in the run log. */
  run: authedProcedure
    .input(z.object({ repositoryId: dbId, kind: z.enum(SCHEDULE_KINDS), readDataSubset: readDataSubsetSchema.optional() }))
    .mutation(({ ctx, input }) => {
      void runMaintenance(ctx.db, input).catch((e: unknown) => console.error(`maintenance run: ${(e as Error).message}`));
      return { started: true };
    }),
  /** The newest runs with their logs. */
  runs: authedProcedure.query(({ ctx }) => listRuns(ctx.db)),
});
