import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { listRuns, readDataSubsetSchema, runMaintenance, SCHEDULE_KINDS } from "@qubes-dedup/service";
import { authedProcedure, dbId, router } from "../trpc.ts";

/** Retention, check, drill and backup runs started by hand, and the run log. */
export const maintenanceRouter = router({
  /**
   * Starts a retention, check, drill or backup run now, in the background;
   * its outcome appears in the run log. A retention by hand must carry the
   * snapshots its preview showed (`confirmedForget`): nothing is forgotten without that confirmation.
   */
  run: authedProcedure
    .input(
      z.object({
        repositoryId: dbId,
        kind: z.enum(SCHEDULE_KINDS),
        readDataSubset: readDataSubsetSchema.optional(),
        // retention by hand: the snapshots its preview showed, which the user confirmed
        confirmedForget: z.array(z.string().min(1).max(200)).max(10000).optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      if (input.kind === "retention" && !input.confirmedForget) {
        throw new TRPCError({ code: "BAD_REQUEST", message: "A retention started by hand needs a confirmed preview: preview it first, then confirm the snapshots to forget." });
      }
      void runMaintenance(ctx.db, input).catch((e: unknown) => console.error(`maintenance run: ${(e as Error).message}`));
      return { started: true };
    }),
  /** The newest runs with their logs. */
  runs: authedProcedure.query(({ ctx }) => listRuns(ctx.db)),
});
