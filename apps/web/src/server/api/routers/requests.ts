import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { backupTaskInput, cancelTask, getTask, listTasks, requestHistory, restorePointTaskInput, restoreTaskInput, startBackup, startRestore, startRestorePoint } from "@qubes-dedup/service";
import { authedProcedure, dbId, router, userError } from "../trpc.ts";

/** Backup and restore requests to dom0: start, follow, cancel, history. */
export const requestsRouter = router({
  /** Asks dom0 for a backup (qubes.DedupBackup) in the background; returns the task at once. */
  backup: authedProcedure.input(backupTaskInput).mutation(({ ctx, input }) => userError(() => startBackup(ctx.db, input))),
  /** Asks dom0 for a restore (qubes.DedupRestore) in the background; returns the task at once. */
  restore: authedProcedure.input(restoreTaskInput).mutation(({ ctx, input }) => userError(() => startRestore(ctx.db, input))),
  /** Asks dom0 to restore a restore point, or some qubes of it (dom0 plans the runs from its ledger and confirms once); returns the task at once. */
  restorePoint: authedProcedure.input(restorePointTaskInput).mutation(({ ctx, input }) => userError(() => startRestorePoint(ctx.db, input))),
  /** Stops a running request; false when it already ended. */
  cancel: authedProcedure.input(z.object({ id: dbId })).mutation(({ input }) => cancelTask(input.id)),
  /** One request with live progress; NOT_FOUND after a server restart. */
  get: authedProcedure.input(z.object({ id: dbId })).query(async ({ ctx, input }) => {
    const t = await getTask(ctx.db, input.id);
    if (!t) throw new TRPCError({ code: "NOT_FOUND", message: `There is no request ${input.id} in this server (it was restarted?): see the history below.` });
    return t;
  }),
  /** Requests this server process started, newest first. */
  list: authedProcedure
    .input(z.object({ kind: z.enum(["backup", "restore"]).optional() }))
    .query(({ ctx, input }) => listTasks(ctx.db, input.kind)),
  /** Recorded requests of one kind from the index db, newest first. */
  history: authedProcedure
    .input(z.object({ kind: z.enum(["restore", "backup-request"]) }))
    .query(({ ctx, input }) => requestHistory(ctx.db, input.kind)),
});
