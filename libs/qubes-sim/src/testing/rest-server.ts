import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../rest-server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/**
 * Where restic's own REST server is: `$QUBES_DEDUP_REST_SERVER`, else the
 * copy tools/engines.sh unpacks (Debian 13's restic-rest-server 0.13.0;
 * Debian 12 has no such package), else `rest-server` / `restic-rest-server`
 * on PATH.
 * @returns the executable, or a sentence saying why there is none (a test's skip reason)
 */
export function restServerBinary(): { bin?: string; missing?: string } {
  const set = process.env.QUBES_DEDUP_REST_SERVER;
  const candidates = [set, path.join(ROOT, "var/engines/rest-server-0.13.0/usr/bin/restic-rest-server"), "restic-rest-server", "rest-server"].filter((c): c is string => !!c);
  for (const c of candidates) if (spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0) return { bin: c };
  return { missing: `restic's rest-server is not installed (Debian 12 has no restic-rest-server): run \`bash tools/engines.sh\` to fetch 0.13.0 into var/engines/, or set QUBES_DEDUP_REST_SERVER` };
}

/** A TLS key and a self-signed certificate for 127.0.0.1 (its own CA: restic gets it with `--cacert`). */
export interface TestCertificate {
  cert: string;
  key: string;
}

/**
 * Test support: makes a self-signed certificate (EC P-256, 2 days) whose
 * subject alternative name is IP 127.0.0.1, with openssl, in `dir`.
 * @throws Error when openssl fails
 */
export function selfSignedCertificate(dir: string): TestCertificate {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, "server.crt");
  const key = path.join(dir, "server.key");
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
  return { cert, key };
}

/**
 * One htpasswd line in the `{SHA}` form rest-server accepts: the user, then
 * `{SHA}` and the base64 of the password's SHA-1 (Apache htpasswd -s).
 */
export function htpasswdLine(user: string, password: string): string {
  return `${user}:{SHA}${crypto.createHash("sha1").update(password).digest("base64")}`;
}

/** How the REST server runs: as it comes, `--append-only`, or `--private-repos` (each user only under /<user>/). */
export type RestServerMode = "plain" | "append-only" | "private-repos";

/** A running restic rest-server (TLS on 127.0.0.1, htpasswd users). */
export interface RestResticServer {
  /** https://127.0.0.1:PORT/ (no credentials; a restic location is `rest:https://user:pw@127.0.0.1:PORT/<repo>/`) */
  url: string;
  port: number;
  /** the self-signed certificate: pass it to restic with --cacert */
  caCert: string;
  /** the repository location for `user` (its password from `users`) and repository path `repo` */
  location(user: string, repo: string): string;
  /** kills the server with SIGKILL (a crash, a power cut of the server) and waits for its exit */
  stop(): Promise<void>;
  /** starts it again on the same port, data and users */
  restart(): Promise<void>;
}

/** Options of {@link startRestServer}. */
export interface RestServerOptions {
  /** data directory (the repositories live below it) */
  dataDir: string;
  /** where the certificate and htpasswd go */
  configDir: string;
  mode: RestServerMode;
  /** user name -> password */
  users: Record<string, string>;
  bin: string;
  /** write every request in the combined log format (with the bytes sent) to this file */
  log?: string;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/**
 * Test support: starts restic's rest-server on 127.0.0.1 and a free port with
 * TLS (a certificate made here) and htpasswd authentication, in `mode`, and
 * waits until it accepts connections (up to ~10 s).
 * @throws Error when it exits or never listens
 */
export async function startRestServer(o: RestServerOptions): Promise<RestResticServer> {
  const { cert, key } = selfSignedCertificate(o.configDir);
  const htpasswd = path.join(o.configDir, "htpasswd");
  fs.writeFileSync(htpasswd, Object.entries(o.users).map(([u, p]) => htpasswdLine(u, p)).join("\n") + "\n", { mode: 0o600 });
  fs.mkdirSync(o.dataDir, { recursive: true });
  const port = await freePort();
  const args = ["--listen", `127.0.0.1:${port}`, "--path", o.dataDir, "--tls", "--tls-cert", cert, "--tls-key", key, "--htpasswd-file", htpasswd];
  if (o.mode === "append-only") args.push("--append-only");
  if (o.mode === "private-repos") args.push("--private-repos");
  if (o.log) args.push("--log", o.log);
  let child: ChildProcess;
  const start = async () => {
    child = spawn(o.bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
    for (let i = 0; !(await listening(port)); i++) {
      if (child.exitCode !== null) throw new Error(`rest-server exited with ${child.exitCode}: ${stderr.trim()}`);
      if (i > 200) throw new Error(`rest-server did not listen on 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  };
  const url = `https://127.0.0.1:${port}/`;
  const location = (user: string, repo: string) => {
    const pw = o.users[user];
    if (pw === undefined) throw new Error(`no user ${user} on this test server`);
    return `rest:https://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${repo}/`;
  };
  return { url, port, caCert: cert, location, stop, restart: async () => (await stop(), await start()) };
}
