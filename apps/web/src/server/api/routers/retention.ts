import { z } from "zod";
import { getRetention, previewRetention, retentionInput, setRetention } from "@qubes-dedup/service";
import { authedProcedure, dbId, router, userError } from "../trpc.ts";

/** Each repository's retention policy. */
export const retentionRouter = router({
  /** A repository's keep rules, or null. */
  get: authedProcedure.input(z.object({ repositoryId: dbId })).query(({ ctx, input }) => getRetention(ctx.db, input.repositoryId)),
  /** Sets a repository's keep rules (applied by "retention" runs). */
  set: authedProcedure.input(retentionInput).mutation(({ ctx, input }) => userError(() => setRetention(ctx.db, input))),
  /**
   * What the stored policy would forget now, read from the engine (a dry
   * run: nothing is forgotten). A mutation: it runs the engine, and the page
   * asks for it when the user clicks.
   */
  preview: authedProcedure.input(z.object({ repository: z.string().min(1).max(64) })).mutation(({ ctx, input }) => userError(() => previewRetention(ctx.db, input.repository))),
});
