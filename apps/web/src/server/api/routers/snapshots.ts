import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { getSnapshot, listSnapshots, qubeNames, resolveSnapshotRef, snapshotVerification } from "@qubes-dedup/service";
import { authedProcedure, dbId, router } from "../trpc.ts";

/** Snapshots of the index db: list, detail, qube names. */
export const snapshotsRouter = router({
  /** One repository's snapshots, newest first, with dedup ratio; optionally only those holding a qube or in a time range. */
  list: authedProcedure
    .input(z.object({ repositoryId: dbId, qube: z.string().min(1).max(64).optional(), from: z.date().optional(), to: z.date().optional() }))
    .query(({ ctx, input }) => listSnapshots(ctx.db, input.repositoryId, { qube: input.qube, from: input.from, to: input.to, newestFirst: true })),
  /**
   * One snapshot with its qubes and volumes, by db id (number) or by what a
   * user types (string: see resolveSnapshotRef: `latest`, an engine snapshot
   * id, a short id, a unique start of either, or a db id), with its newest
   * check and drill. NOT_FOUND when there
   * is none, BAD_REQUEST when a prefix is ambiguous.
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
      const verification = await snapshotVerification(ctx.db, { repositoryId: s.repository.id, engineSnapshotId: s.engineSnapshotId, createdAt: s.createdAt });
      return { ...s, verification };
    }),
  /** Qube names found in a repository's snapshots (for the filter). */
  qubeNames: authedProcedure.input(z.object({ repositoryId: dbId })).query(({ ctx, input }) => qubeNames(ctx.db, input.repositoryId)),
});
