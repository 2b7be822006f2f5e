import { z } from "zod";
import { browseVolume, FILE_VOLUMES } from "@qubes-dedup/service";
import { authedProcedure, dbId, router, userError } from "../trpc.ts";

/** What names one volume of one snapshot. */
export const volumeInput = z.object({
  snapshotId: dbId,
  qube: z.string().min(1).max(64),
  volume: z.enum(FILE_VOLUMES).default("private"),
});

/**
 * Browsing a qube's volume in a snapshot (single-file restore): the volume
 * is rebuilt once and read in a sandbox by the service; downloads go
 * through /api/files (a stream, not tRPC). Names come back raw (to navigate
 * with) and escaped (`display`, the only form the page shows).
 */
export const filesRouter = router({
  list: authedProcedure
    .input(volumeInput.extend({ path: z.string().max(4096).default("/") }))
    .query(({ ctx, input }) => userError(async () => (await browseVolume(ctx.db, input.snapshotId, input.qube, input.volume)).browser.list(input.path))),
  /** Entries whose name contains `name` (any case) under `path`, bounded (service VolumeBrowser.search). */
  search: authedProcedure
    .input(volumeInput.extend({ path: z.string().max(4096).default("/"), name: z.string().min(1).max(255) }))
    .query(({ ctx, input }) => userError(async () => (await browseVolume(ctx.db, input.snapshotId, input.qube, input.volume)).browser.search(input.name, input.path))),
});
