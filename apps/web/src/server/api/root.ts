import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { listRepositories } from "./repositories.ts";
import { getSnapshot, qubeNames, resolveSnapshotRef } from "./snapshot-detail.ts";
import { listSnapshots } from "./snapshots.ts";
import { authedProcedure, router, createCallerFactory } from "./trpc.ts";
import { backupRequestInput, restoreRequestInput } from "./requests.ts";
import { cancelTask, getTask, listTasks, startBackup, startRestore } from "./tasks.ts";
import { requestHistory } from "./history.ts";
import { createSchedule, getRetention, listRuns, listSchedules, readDataSubsetSchema, retentionInput, scheduleInput, setRetention, SCHEDULE_KINDS } from "./schedules.ts";
import { runMaintenance } from "./maintenance.ts";
import { addRepositoryFromDashboard, repositoryInput, testConnection, testRegistered } from "./repo-admin.ts";

/** Turns a failure to start a request into a 400 carrying its one-sentence message. */
async function starting<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new TRPCError({ code: "BAD_REQUEST", message: (e as Error).message });
  }
}

const repositoryId = z.number().int().positive();

/** The dashboard's tRPC API. All reads come from the index database; every call needs the session token. */
export const appRouter = router({
  repositories: router({
    /** Every repository with totals, last job, failed jobs and warnings. */
    list: authedProcedure.query(({ ctx }) => listRepositories(ctx.db)),
    /** Stores the password (0600) and registers the repository, initialising it when empty. */
    add: authedProcedure.input(repositoryInput).mutation(({ ctx, input }) => starting(() => addRepositoryFromDashboard(ctx.db, input))),
    /** Tries a location and password without registering anything (a mutation: it carries a secret). */
    test: authedProcedure.input(repositoryInput).mutation(({ input }) => testConnection(input)),
    /** Tries a registered repository with its stored password. */
    check: authedProcedure.input(z.object({ id: repositoryId })).mutation(({ ctx, input }) => starting(() => testRegistered(ctx.db, input.id))),
  }),
  snapshots: router({
    /** One repository's snapshots, newest first, with dedup ratio; optionally only those holding a qube or in a time range. */
    list: authedProcedure
      .input(z.object({ repositoryId, qube: z.string().min(1).max(64).optional(), from: z.date().optional(), to: z.date().optional() }))
      .query(({ ctx, input }) => listSnapshots(ctx.db, input.repositoryId, { qube: input.qube, from: input.from, to: input.to })),
    /**
     * One snapshot with its qubes and volumes, by db id (number) or by what a
     * user types (string: db id, engine snapshot id, or a unique prefix of >= 8
     * hex digits). NOT_FOUND when there is none, BAD_REQUEST when a prefix is ambiguous.
     */
    get: authedProcedure
      .input(z.object({ id: z.union([z.number().int().positive(), z.string().trim().min(1).max(200)]) }))
      .query(async ({ ctx, input }) => {
        const m = typeof input.id === "number" ? { id: input.id } : await resolveSnapshotRef(ctx.db, input.id);
        if ("ambiguous" in m) {
          throw new TRPCError({ code: "BAD_REQUEST", message: `"${input.id}" is the start of ${m.ambiguous} snapshot ids: give more of the engine snapshot id.` });
        }
        const s = "id" in m ? await getSnapshot(ctx.db, m.id) : null;
        if (!s) {
          const what = /^\d+$/.test(String(input.id)) ? String(input.id) : `"${input.id}"`;
          throw new TRPCError({ code: "NOT_FOUND", message: `There is no snapshot ${what}: pick one from the snapshot list.` });
        }
        return s;
      }),
    /** Qube names found in a repository's snapshots (for the filter). */
    qubeNames: authedProcedure.input(z.object({ repositoryId })).query(({ ctx, input }) => qubeNames(ctx.db, input.repositoryId)),
  }),
  requests: router({
    /** Asks dom0 for a backup (qubes.DedupBackup) in the background; returns the task at once. */
    backup: authedProcedure.input(backupRequestInput).mutation(({ ctx, input }) => starting(() => startBackup(ctx.db, input))),
    /** Asks dom0 for a restore (qubes.DedupRestore) in the background; returns the task at once. */
    restore: authedProcedure.input(restoreRequestInput).mutation(({ ctx, input }) => starting(() => startRestore(ctx.db, input))),
    /** Stops a running request; false when it already ended. */
    cancel: authedProcedure.input(z.object({ id: z.number().int().positive() })).mutation(({ input }) => cancelTask(input.id)),
    /** One request with live progress; NOT_FOUND after a server restart. */
    get: authedProcedure.input(z.object({ id: z.number().int().positive() })).query(async ({ ctx, input }) => {
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
  }),
  schedules: router({
    /** Every schedule with its next runs (UTC). */
    list: authedProcedure.query(({ ctx }) => listSchedules(ctx.db)),
    /** Adds a schedule; the cron expression is checked first. */
    create: authedProcedure.input(scheduleInput).mutation(({ ctx, input }) => starting(() => createSchedule(ctx.db, input))),
    /** Pauses or resumes a schedule. */
    setEnabled: authedProcedure
      .input(z.object({ id: z.number().int().positive(), enabled: z.boolean() }))
      .mutation(async ({ ctx, input }) => (await ctx.db.prisma.schedule.update({ where: { id: input.id }, data: { enabled: input.enabled } })).enabled),
    /** Deletes a schedule; its past runs stay in the log. */
    remove: authedProcedure.input(z.object({ id: z.number().int().positive() })).mutation(async ({ ctx, input }) => {
      await ctx.db.prisma.schedule.delete({ where: { id: input.id } });
      return true;
    }),
  }),
  retention: router({
    /** A repository's keep rules, or null. */
    get: authedProcedure.input(z.object({ repositoryId })).query(({ ctx, input }) => getRetention(ctx.db, input.repositoryId)),
    /** Sets a repository's keep rules (applied by "retention" runs). */
    set: authedProcedure.input(retentionInput).mutation(({ ctx, input }) => starting(() => setRetention(ctx.db, input))),
  }),
  maintenance: router({
    /** Starts a retention, check, drill or backup run now, in the background; its outcome appears in the run log. */
    run: authedProcedure
      .input(z.object({ repositoryId, kind: z.enum(SCHEDULE_KINDS), readDataSubset: readDataSubsetSchema.optional() }))
      .mutation(({ ctx, input }) => {
        void runMaintenance(ctx.db, input).catch((e: unknown) => console.error(`maintenance run: ${(e as Error).message}`));
        return { started: true };
      }),
    /** The newest runs with their logs. */
    runs: authedProcedure.query(({ ctx }) => listRuns(ctx.db)),
  }),
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller({ db, auth })`. */
export const createCaller = createCallerFactory(appRouter);
