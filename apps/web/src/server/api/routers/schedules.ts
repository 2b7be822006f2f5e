import { z } from "zod";
import { createSchedule, listSchedules, removeSchedule, scheduleInput, setScheduleEnabled } from "@qubes-dedup/service";
import { authedProcedure, dbId, router, userError } from "../trpc.ts";

/** Maintenance schedules (cron, UTC). */
export const schedulesRouter = router({
  /** Every schedule with its next runs (UTC). */
  list: authedProcedure.query(({ ctx }) => listSchedules(ctx.db)),
  /** Adds a schedule; the cron expression is checked first. */
  create: authedProcedure.input(scheduleInput).mutation(({ ctx, input }) => userError(() => createSchedule(ctx.db, input))),
  /** Pauses or resumes a schedule. */
  setEnabled: authedProcedure
    .input(z.object({ id: dbId, enabled: z.boolean() }))
    .mutation(({ ctx, input }) => setScheduleEnabled(ctx.db, input.id, input.enabled)),
  /** Deletes a schedule; its past runs stay in the log. */
  remove: authedProcedure.input(z.object({ id: dbId })).mutation(async ({ ctx, input }) => {
    await removeSchedule(ctx.db, input.id);
    return true;
  }),
});
