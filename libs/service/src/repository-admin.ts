/**
 * Adding repositories from the dashboard: the password the user types is
 * written to a file readable only by the service user (0600, in a 0700
 * directory next to the index db) and never read back to the browser; the
 * engine gets the file's path. Locations are checked against the forms each
 * engine accepts, so nothing odd reaches restic/borg argv.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import writeFileAtomic from "write-file-atomic";
import type { Database } from "@qubes-dedup/db";
import { MACHINE_NAME_RULE, machineNameProblem, openEngine, type EngineKind } from "@qubes-dedup/pipeline";
import { addRepository, engineFor, repositoryNameSchema } from "./repositories.ts";
import { dataDirectory } from "./database.ts";
import { restUnreachable } from "./rest-probe.ts";

/** Absolute local path without control characters or `..` segments. */
const localPath = /^\/(?!.*(^|\/)\.\.(\/|$))[^\0-\x1f]*$/;
/** restic REST (`rest:http(s)://host[:port]/path`), SFTP and S3 forms. */
const resticRemote = /^(rest:https?:\/\/[^\s]+|sftp:[A-Za-z0-9._@-]+:[^\s]*|sftp:\/\/[^\s]+|s3:[^\s]+)$/;
/** borg over SSH: `ssh://[user@]host[:port]/path`. */
const borgRemote = /^ssh:\/\/([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:\d{1,5})?\/[^\s]*$/;

/** Why a location is not accepted for an engine, or null when it is. */
export function locationProblem(engine: EngineKind, location: string): string | null {
  if (location.length > 1024) return "The location is longer than 1024 characters: shorten it.";
  if (location.startsWith("-")) return "A location cannot start with '-': give an absolute path or a URL.";
  if (localPath.test(location)) return null;
  if (engine === "restic" && resticRemote.test(location)) return null;
  if (engine === "borg" && borgRemote.test(location)) return null;
  return engine === "restic"
    ? "restic needs an absolute local path or a rest:http(s)://…, sftp:user@host:/path or s3:… URL: fix the location."
    : "borg needs an absolute local path or an ssh://user@host[:port]/path URL: fix the location.";
}

/** Input of `repositories.add` / `repositories.test`. The password never leaves the server again. */
export const repositoryInput = z
  .object({
    name: repositoryNameSchema,
    engine: z.enum(["restic", "borg"]),
    location: z.string().min(1),
    password: z.string().min(8, "use a repository password of at least 8 characters").max(1024).regex(/^[^\n\r\0]*$/, "one line"),
    /** PEM text of the CA certificate of a TLS REST server (restic --cacert); empty: the system's CAs */
    caCert: z.string().max(65536).optional(),
    /** the server keeps the repository append-only (required for borg over SSH, detected for REST servers) */
    appendOnly: z.boolean().optional(),
    /** this machine's name when several machines back up into the repository (repositories.ts, NewRepository.machine) */
    machine: z.string().max(256).optional(),
  })
  .superRefine((v, ctx) => {
    const p = locationProblem(v.engine, v.location);
    if (p) ctx.addIssue({ code: "custom", path: ["location"], message: p });
    // the dashboard shows it as "Invalid machine: use 1 to 63 letters, …" (apps/web trpc.ts)
    if (v.machine !== undefined && machineNameProblem(v.machine)) ctx.addIssue({ code: "custom", path: ["machine"], message: MACHINE_NAME_RULE });
    if (v.caCert?.trim() && !/-----BEGIN CERTIFICATE-----/.test(v.caCert))
      ctx.addIssue({ code: "custom", path: ["caCert"], message: "Paste the CA certificate in PEM form (-----BEGIN CERTIFICATE----- …)." });
  });
export type RepositoryInput = z.infer<typeof repositoryInput>;

/**
 * Directory of repository password files (0700): `$QUBES_DEDUP_SECRETS_DIR`
 * (the template package sets `~/.config/qubes-dedup`), else
 * `<directory of the index db>/secrets`.
 */
export function secretsDir(): string {
  return process.env.QUBES_DEDUP_SECRETS_DIR || path.join(dataDirectory(), "secrets");
}

/** Writes `password` to `<secretsDir>/<name>.password` (0600, atomically) and returns its path. */
export function writeSecret(dir: string, name: string, password: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, `${name}.password`);
  writeFileAtomic.sync(file, `${password}\n`, { mode: 0o600 });
  return file;
}

/** Writes the CA certificate's PEM text to `<dir>/<name>.ca.pem` (0600) and returns its path, or undefined for none. */
function writeCaCert(dir: string, name: string, pem: string | undefined): string | undefined {
  if (!pem?.trim()) return undefined;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${name}.ca.pem`);
  writeFileAtomic.sync(file, pem.trim() + "\n", { mode: 0o600 });
  return file;
}

/** Result of a connection test; `message` is one sentence. */
export interface ConnectionTest {
  ok: boolean;
  /** True when a repository exists there and opens with the password. */
  initialised: boolean;
  message: string;
}

/** Seconds a connection test may take before the engine is stopped and the server named as not answering. */
export const TEST_TIMEOUT_S = 30;

/**
 * Opens the repository with the given password (from a temporary 0600 file,
 * removed afterwards) and says whether it is reachable and initialised, in
 * at most `opts.timeoutSeconds` (default {@link TEST_TIMEOUT_S}) plus the
 * engine's stop: a server that accepts connections and never answers is
 * named as such, and the password file is removed all the same.
 * Never throws for engine failures: they become `ok: false` with the reason.
 */
export async function testConnection(input: RepositoryInput, opts: { timeoutSeconds?: number } = {}): Promise<ConnectionTest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qdd-test-"));
  try {
    const caCert = writeCaCert(dir, input.name, input.caCert);
    const unreachable = await restUnreachable(input.location, caCert);
    if (unreachable) return { ok: false, initialised: false, message: unreachable };
    const passwordFile = writeSecret(dir, input.name, input.password);
    const engine = openEngine({ engine: input.engine, location: input.location, passwordFile, caCert });
    const initialised = await engine.isInitialised({ timeoutSeconds: opts.timeoutSeconds ?? TEST_TIMEOUT_S });
    return initialised
      ? { ok: true, initialised, message: `Connected: ${input.engine} repository at ${input.location} opens with this password.` }
      : { ok: true, initialised, message: `Reachable, but there is no ${input.engine} repository at ${input.location} yet: adding it will initialise one.` };
  } catch (e) {
    return { ok: false, initialised: false, message: (e as Error).message };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Stores the password (0600) and registers the repository, initialising it
 * when it does not exist yet. The password file is removed again on failure.
 * @throws Error (one sentence) when the server is unreachable, the name is
 *   taken, or the engine cannot open or create the repository.
 */
export async function addRepositoryFromDashboard(db: Database, input: RepositoryInput, dir: string = secretsDir()): Promise<{ id: number; name: string; appendOnly: boolean; machine: string | null }> {
  if (await db.prisma.repository.findUnique({ where: { name: input.name } })) {
    throw new Error(`A repository named "${input.name}" already exists: choose another name.`);
  }
  const caCertFile = writeCaCert(dir, input.name, input.caCert);
  try {
    const unreachable = await restUnreachable(input.location, caCertFile);
    if (unreachable) throw new Error(unreachable);
  } catch (e) {
    if (caCertFile) fs.rmSync(caCertFile, { force: true });
    throw e;
  }
  const passwordFile = writeSecret(dir, input.name, input.password);
  try {
    const repo = await addRepository(db, { name: input.name, engine: input.engine, location: input.location, passwordFile, caCertFile, appendOnly: input.appendOnly, machine: input.machine });
    return { id: repo.id, name: repo.name, appendOnly: repo.appendOnly, machine: repo.machine };
  } catch (e) {
    fs.rmSync(passwordFile, { force: true });
    if (caCertFile) fs.rmSync(caCertFile, { force: true });
    throw e;
  }
}

/** Tests a registered repository with its stored password file. @throws Error when there is no such repository. */
export async function testRegistered(db: Database, id: number): Promise<ConnectionTest> {
  const r = await db.prisma.repository.findUnique({ where: { id } });
  if (!r) throw new Error(`There is no repository ${id}: reload the page.`);
  const unreachable = await restUnreachable(r.location, r.caCertFile ?? undefined);
  if (unreachable) return { ok: false, initialised: false, message: unreachable };
  try {
    const initialised = await engineFor(r).isInitialised({ timeoutSeconds: TEST_TIMEOUT_S });
    return initialised
      ? { ok: true, initialised, message: `Connected: ${r.name} opens with its stored password.` }
      : { ok: false, initialised, message: `There is no ${r.engine} repository at ${r.location} any more: check the location or restore the repository.` };
  } catch (e) {
    return { ok: false, initialised: false, message: (e as Error).message };
  }
}
