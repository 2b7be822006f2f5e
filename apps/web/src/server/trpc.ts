import { initTRPC } from "@trpc/server";
import superjson from "superjson";
import type { Database } from "@qubes-dedup/db";

/** Per-request context: the open index database. */
export interface Context {
  db: Database;
}

// superjson carries bigint sizes and Date times to the browser intact.
const t = initTRPC.context<Context>().create({ transformer: superjson });

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
