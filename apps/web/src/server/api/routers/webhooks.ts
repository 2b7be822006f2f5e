import { z } from "zod";
import { setWebhook, WEBHOOK_METHODS } from "@qubes-dedup/service";
import { authedProcedure, router, userError } from "../trpc.ts";

const repository = z.string().min(1).max(64);

/** Each repository's optional webhook (its state is in repositories.list). */
export const webhooksRouter = router({
  /** Sets the webhook: an http(s) URL and POST, PUT or GET. */
  set: authedProcedure
    .input(z.object({ repository, url: z.string().trim().min(1).max(2048), method: z.enum(WEBHOOK_METHODS) }))
    .mutation(({ ctx, input }) => userError(() => setWebhook(ctx.db, input.repository, { url: input.url, method: input.method }))),
  /** Removes the webhook. */
  remove: authedProcedure.input(z.object({ repository })).mutation(({ ctx, input }) => userError(() => setWebhook(ctx.db, input.repository, null))),
});
