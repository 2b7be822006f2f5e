import { z } from "zod";
import { getRetention, retentionInput, setRetention } from "@qubes-dedup/service";
import { authedProcedure, dbId, router, userError } from "../trpc.ts";

/** Each repository's retention policy. */
export const retentionRouter = router({
  /** A repository's keep rules, or null. */
  get: authedProcedure.input(z.object({ repositoryId: dbId })).query(({ ctx, input }) => getRetention(ctx.db, input.repositoryId)),
  /** Sets a repository's keep rules (applied by "retention" runs). */
  set: authedProcedure.input(retentionInput).mutation(({ ctx, input }) => userError(() => setRetention(ctx.db, input))),
});
