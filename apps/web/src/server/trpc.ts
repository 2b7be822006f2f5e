import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { Database } from "@qubes-dedup/db";
import type { RequestAuth } from "./auth.ts";

/** Per-request context: the open index database and what is known of the caller. */
export interface Context {
  db: Database;
  auth: RequestAuth;
}

// superjson carries bigint sizes and Date times to the browser intact.
const t = initTRPC.context<Context>().create({ transformer: superjson });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Every procedure of the API: needs the session token (else UNAUTHORIZED,
 * HTTP 401); mutations also need a same-origin request (else FORBIDDEN, 403).
 */
export const authedProcedure = t.procedure.use(({ ctx, type, next }) => {
  if (!ctx.auth.authorized) {
    throw new TRPCError({
      code: "UNAUTHORIZED",
      message: 'This dashboard needs its session token: run "qubes-dedup web-token" in the backup qube and enter it.',
    });
  }
  if (type === "mutation" && !ctx.auth.sameOrigin) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "Changes are accepted only from the dashboard's own pages: open it at http://127.0.0.1 and try again.",
    });
  }
  return next();
});
