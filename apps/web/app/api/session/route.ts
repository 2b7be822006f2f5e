import { SESSION_COOKIE, sameOrigin } from "../../../src/server/auth.ts";
import { readOrCreateToken, tokenFile, tokenMatches } from "@qubes-dedup/service";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function json(status: number, body: object, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** Sign in: `{"token": "<64 hex>"}` sets the HttpOnly session cookie. */
export async function POST(req: Request): Promise<Response> {
  if (!sameOrigin(req)) return json(403, { error: "Sign in from the dashboard's own page at http://127.0.0.1." });
  const body = (await req.json().catch(() => null)) as { token?: unknown } | null;
  const given = typeof body?.token === "string" ? body.token.trim() : "";
  if (!tokenMatches(readOrCreateToken(tokenFile()), given)) {
    return json(401, { error: 'That is not the current token: run "qubes-dedup web-token" in the backup qube and paste what it prints.' });
  }
  const cookie = `${SESSION_COOKIE}=${given}; Path=/; HttpOnly; SameSite=Strict`;
  return json(200, { ok: true }, { "set-cookie": cookie });
}

/** Sign out: clears the session cookie. */
export async function DELETE(req: Request): Promise<Response> {
  if (!sameOrigin(req)) return json(403, { error: "Sign out from the dashboard's own page." });
  return json(200, { ok: true }, { "set-cookie": `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` });
}
