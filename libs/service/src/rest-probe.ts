/**
 * Plain HTTP(S) requests to a restic REST server (rest-server, `rclone serve
 * restic`), for what restic itself does not say: whether the server answers
 * at all (restic reports a refused connection as "no repository"), and
 * whether it runs `--append-only`. Paths follow restic's REST protocol
 * (restic docs, "REST Backend": `<repo>/config`, `<repo>/snapshots/<id>`).
 */
import fs from "node:fs";
import http from "node:http";
import https from "node:https";

/** The server's URL of a `rest:` location (credentials kept: the request sends them as Basic auth), or undefined. */
export function restUrl(location: string): URL | undefined {
  if (!location.startsWith("rest:")) return undefined;
  const raw = location.slice("rest:".length);
  try {
    return new URL(raw.endsWith("/") ? raw : `${raw}/`);
  } catch {
    return undefined;
  }
}

/**
 * One request to `<repository URL>/<sub>`.
 * @param caCertFile PEM file of the CA the server's certificate must chain to (else the system's)
 * @returns the HTTP status
 * @throws Error whose `code` is Node's (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ETIMEDOUT …)
 */
export function restRequest(base: URL, sub: string, method: "HEAD" | "DELETE", caCertFile?: string, timeoutMs = 10_000): Promise<number> {
  const url = new URL(sub, base);
  const lib = url.protocol === "https:" ? https : http;
  const ca = caCertFile ? fs.readFileSync(caCertFile) : undefined;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, ...(ca ? { ca } : {}), timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("no answer"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Why the REST server of `location` cannot be reached (one sentence), or
 * null when it answers (any HTTP status) or the location is not `rest:`.
 */
export async function restUnreachable(location: string, caCertFile?: string): Promise<string | null> {
  const base = restUrl(location);
  if (!base) return null;
  try {
    await restRequest(base, "config", "HEAD", caCertFile);
    return null;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const shown = `${base.protocol}//${base.host}${base.pathname}`;
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(err.code ?? ""))
      return `The REST server at ${shown} has a certificate this machine does not trust (${err.code}): give its CA certificate (the server's own certificate when it is self-signed).`;
    return `Cannot reach the REST server at ${shown} (${err.code ?? err.message}): start it or fix the URL.`;
  }
}

/** A snapshot name no restic snapshot has (ids are SHA-256 of their content). */
const NO_SNAPSHOT = "0".repeat(64);

/**
 * True when the REST server refuses deletions in this repository, which is
 * how rest-server `--append-only` answers any DELETE but of a lock (403
 * Forbidden, checked against rest-server 0.13.0): asked for a snapshot file
 * that cannot exist, so nothing is deleted either way. False for other
 * answers (rest-server without --append-only: 200; rclone: 404) and for
 * locations that are not `rest:`.
 * @throws Error as {@link restRequest} when the server cannot be reached
 */
export async function restRefusesDeletion(location: string, caCertFile?: string): Promise<boolean> {
  const base = restUrl(location);
  if (!base) return false;
  return (await restRequest(base, `snapshots/${NO_SNAPSHOT}`, "DELETE", caCertFile)) === 403;
}
