import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "../../../../src/server/router.ts";
import { getDatabase } from "../../../../src/server/db.ts";
import { authenticate } from "../../../../src/server/auth.ts";
import { readOrCreateToken, tokenFile } from "@qubes-dedup/service";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function handler(req: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    // The token is read on every call so that "qubes-dedup web-token --rotate"
    // takes effect without a restart.
    createContext: async () => ({ db: await getDatabase(), auth: authenticate(req, readOrCreateToken(tokenFile())) }),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"}: ${error.message}`);
    },
  });
}

export { handler as GET, handler as POST };
