/**
 * The dashboard's tRPC API: one router per noun (routers/), merged here.
 * Routers validate input and call @qubes-dedup/service; every call needs the
 * session token (trpc.ts).
 */
import { filesRouter } from "./routers/files.ts";
import { maintenanceRouter } from "./routers/maintenance.ts";
import { qubesRouter } from "./routers/qubes.ts";
import { repositoriesRouter } from "./routers/repositories.ts";
import { requestsRouter } from "./routers/requests.ts";
import { retentionRouter } from "./routers/retention.ts";
import { schedulesRouter } from "./routers/schedules.ts";
import { snapshotsRouter } from "./routers/snapshots.ts";
import { webhooksRouter } from "./routers/webhooks.ts";
import { createCallerFactory, router } from "./trpc.ts";

export const appRouter = router({
  repositories: repositoriesRouter,
  snapshots: snapshotsRouter,
  qubes: qubesRouter,
  requests: requestsRouter,
  schedules: schedulesRouter,
  retention: retentionRouter,
  maintenance: maintenanceRouter,
  webhooks: webhooksRouter,
  files: filesRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller({ db, auth })`. */
export const createCaller = createCallerFactory(appRouter);
