/**
 * Who may call the API: holders of the session token (cookie set by the
 * token page, or `Authorization: Bearer`), and for state-changing calls only
 * pages of this very server (Origin check). Pure functions over a Request.
 */
import { tokenMatches } from "@qubes-dedup/service";

/** Name of the HttpOnly cookie that carries the token in the browser. */
export const SESSION_COOKIE = "qdd_session";

/** What the server knows about a request's caller. */
export interface RequestAuth {
  /** The request presented the current token. */
  authorized: boolean;
  /** The request comes from a page of this server (see {@link sameOrigin}). */
  sameOrigin: boolean;
}

/** The token presented by `req`: bearer header first, then the session cookie. */
export function presentedToken(req: Request): string | null {
  const auth = req.headers.get("authorization");
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
  const cookies = req.headers.get("cookie") ?? "";
  for (const part of cookies.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === SESSION_COOKIE) return decodeURIComponent(v.join("="));
  }
  return null;
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** True for a Host header naming this machine's loopback (DNS rebinding guard). */
function loopbackHost(host: string | null): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, "");
  return LOCAL_HOSTS.has(name.toLowerCase());
}

/**
 * True when a state-changing request comes from a page of this server: the
 * Host is a loopback name, the browser did not flag it cross-site, and an
 * Origin, when sent, is exactly `http://<Host>`. Clients that send no Origin
 * (curl, the CLI) pass: they must still present the token.
 */
export function sameOrigin(req: Request): boolean {
  const host = req.headers.get("host");
  if (!loopbackHost(host)) return false;
  const site = req.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = req.headers.get("origin");
  return origin === null || origin === `http://${host}`;
}

/** Both checks for `req` against the current `token`. */
export function authenticate(req: Request, token: string): RequestAuth {
  return { authorized: tokenMatches(token, presentedToken(req)), sameOrigin: sameOrigin(req) };
}
