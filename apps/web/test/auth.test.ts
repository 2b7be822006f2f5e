import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { authenticate, presentedToken, sameOrigin, SESSION_COOKIE } from "../src/server/auth.ts";
import { authedProcedure, createCallerFactory, router } from "../src/server/api/trpc.ts";
import { readOrCreateToken, readToken, rotateToken, tokenFile, tokenMatches } from "@qubes-dedup/service";

const T = "a".repeat(64);
const req = (headers: Record<string, string>, method = "GET") => new Request("http://127.0.0.1:3000/api/trpc/x", { method, headers });

describe("session token file", () => {
  const dir = () => tmpDir("token");

  it("lives next to the index db", () => {
    expect(tokenFile("file:/srv/qd/index.db")).toBe("/srv/qd/web-token");
    expect(tokenFile("/srv/qd/index.db")).toBe("/srv/qd/web-token");
  });

  it("is created once with mode 0600 and kept across reads; rotation replaces it", () => {
    const file = path.join(dir(), "sub", "web-token");
    const t = readOrCreateToken(file);
    expect(t).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readOrCreateToken(file)).toBe(t);
    const r = rotateToken(file);
    expect(r).not.toBe(t);
    expect(readToken(file)).toBe(r);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("tightens a token file readable by others, and rejects one that holds no token", () => {
    const file = path.join(dir(), "web-token");
    fs.writeFileSync(file, `${T}\n`, { mode: 0o644 });
    expect(readToken(file)).toBe(T);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.writeFileSync(file, "hello\n");
    expect(() => readToken(file)).toThrow(`${file} does not hold a dashboard token: run "qubes-dedup web-token --rotate" to write a new one.`);
  });

  it("compares tokens exactly", () => {
    expect(tokenMatches(T, T)).toBe(true);
    expect(tokenMatches(T, `${T}a`)).toBe(false);
    expect(tokenMatches(T, "b".repeat(64))).toBe(false);
    expect(tokenMatches(T, null)).toBe(false);
    expect(tokenMatches(T, "")).toBe(false);
  });
});

describe("request authentication", () => {
  it("takes the token from a bearer header or the session cookie", () => {
    expect(presentedToken(req({ authorization: `Bearer ${T}` }))).toBe(T);
    expect(presentedToken(req({ cookie: `x=1; ${SESSION_COOKIE}=${T}; y=2` }))).toBe(T);
    expect(presentedToken(req({}))).toBe(null);
    expect(authenticate(req({ host: "127.0.0.1:3000", cookie: `${SESSION_COOKIE}=${T}` }), T)).toEqual({ authorized: true, sameOrigin: true });
    expect(authenticate(req({ host: "127.0.0.1:3000", cookie: `${SESSION_COOKIE}=${"b".repeat(64)}` }), T).authorized).toBe(false);
  });

  it("accepts only the server's own origin on a loopback host", () => {
    expect(sameOrigin(req({ host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000" }, "POST"))).toBe(true);
    expect(sameOrigin(req({ host: "localhost:3000", origin: "http://localhost:3000", "sec-fetch-site": "same-origin" }, "POST"))).toBe(true);
    expect(sameOrigin(req({ host: "127.0.0.1:3000" }, "POST"))).toBe(true);
    expect(sameOrigin(req({ host: "127.0.0.1:3000", origin: "http://evil.example" }, "POST"))).toBe(false);
    expect(sameOrigin(req({ host: "127.0.0.1:3000", origin: "null" }, "POST"))).toBe(false);
    expect(sameOrigin(req({ host: "127.0.0.1:3000", "sec-fetch-site": "cross-site" }, "POST"))).toBe(false);
    // DNS rebinding: a foreign name resolving to 127.0.0.1 sends its own Host and Origin.
    expect(sameOrigin(req({ host: "evil.example:3000", origin: "http://evil.example:3000" }, "POST"))).toBe(false);
  });
});

describe("authedProcedure", () => {
  it("lets queries through with the token, and mutations only from the same origin", async () => {
    const r = router({ q: authedProcedure.query(() => "read"), m: authedProcedure.mutation(() => "changed") });
    const call = (auth: { authorized: boolean; sameOrigin: boolean }) => createCallerFactory(r)({ db: {} as never, auth });
    expect(await call({ authorized: true, sameOrigin: false }).q()).toBe("read");
    expect(await call({ authorized: true, sameOrigin: true }).m()).toBe("changed");
    await expect(call({ authorized: true, sameOrigin: false }).m()).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: "Changes are accepted only from the dashboard's own pages: open it at http://127.0.0.1 and try again.",
    });
    await expect(call({ authorized: false, sameOrigin: true }).m()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});
