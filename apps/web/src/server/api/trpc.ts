/**
 * The tRPC set-up of the dashboard (create-t3-app layout): the per-request
 * context, the error format, and the one procedure kind every router uses.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z } from "zod";
import { processDatabase, type Database } from "@qubes-dedup/service";
import { authenticate, type RequestAuth } from "../auth.ts";
import { readOrCreateToken, tokenFile } from "@qubes-dedup/service";

/** Per-request context: the open index database and what is known of the caller. */
export interface Context {
  db: Database;
  auth: RequestAuth;
}

/**
 * The context of one HTTP request. The token is read on every call so that
 * "qubes-dedup web-token --rotate" takes effect without a restart.
 */
export async function createTRPCContext(req: Request): Promise<Context> {
  return { db: await processDatabase(), auth: authenticate(req, readOrCreateToken(tokenFile())) };
}

// superjson carries bigint sizes and Date times to the browser intact.
// Input validation failures carry zod's issue list as message; the pages show
// messages as they are, so give them the first issue as one sentence instead.
const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const issues = (error.cause as { issues?: { path: PropertyKey[]; message: string }[] } | undefined)?.issues;
    if (error.code !== "BAD_REQUEST" || !Array.isArray(issues) || issues.length === 0) return shape;
    const first = issues[0]!;
    const field = first.path.map(String).join(".");
    const msg = first.message.replace(/[.:]?$/, "");
    return { ...shape, message: `Invalid ${field || "input"}: ${msg}.` };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Runs a service call whose failure is the caller's to fix (unknown
 * repository, taken name, …) and turns its error into a 400 carrying the
 * error's one-sentence message.
 */
export async function userError<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new TRPCError({ code: "BAD_REQUEST", message: (e as Error).message });
  }
}

/** A db row id in an input. */
export const dbId = z.number().int().positive();

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
