import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { repositoryNameSchema } from "@qubes-dedup/protocol";
import { machineNameProblem, openEngine, withoutPassword, type Engine, type EngineKind } from "@qubes-dedup/pipeline";
import type { Database } from "@qubes-dedup/db";
import { ServiceError } from "./errors.ts";
import { dataDirectory } from "./database.ts";
import { restRefusesDeletion, restUnreachable } from "./rest-probe.ts";

/** Repository names are short identifiers: they end up in dom0's fixed command words (rule: @qubes-dedup/protocol). */
export { repositoryNameSchema };

/** What `addRepository` needs. `location` is a local path or a remote URL. */
export interface NewRepository {
  name: string;
  engine: EngineKind;
  location: string;
  passwordFile: string;
  /** PEM file of the CA the server's TLS certificate chains to (restic --cacert); restic only */
  caCertFile?: string;
  /**
   * The server keeps the repository append-only. A `rest:` server is also
   * asked (restRefusesDeletion) and marked when it refuses deletions; borg's
   * `serve --append-only` sits in the server's authorized_keys, out of the
   * client's sight, so for borg over SSH it is declared here.
   */
  appendOnly?: boolean;
  /**
   * The name of this machine (its dom0 and this backup qube) when several
   * machines back up into the repository: its snapshots are tagged with it
   * and it sees only those (layout/tags.ts in @qubes-dedup/pipeline).
   * Absent: every snapshot of the repository is this machine's.
   */
  machine?: string;
}

/** A repository row as stored in the index db. */
export type RepositoryRow = Awaited<ReturnType<Database["prisma"]["repository"]["findFirstOrThrow"]>>;

function isRemote(location: string): boolean {
  return /^(rest|sftp|s3|rclone|b2|azure|gs|swift):/.test(location) || location.startsWith("ssh://");
}

/**
 * Registers a repository in the index db and initialises it with the engine
 * when it does not exist yet (an existing one is opened to check the password).
 * @throws ServiceError for a bad name, a taken name, an unreadable password
 *   file or one readable by group or others (as dom0 refuses its passphrase file); EngineError (from the pipeline) when the engine cannot open/init it.
 */
export async function addRepository(db: Database, input: NewRepository): Promise<RepositoryRow> {
  const name = repositoryNameSchema.safeParse(input.name);
  if (!name.success) throw new ServiceError(`invalid repository name "${input.name}": ${name.error.issues[0]?.message}.`);
  if (input.engine !== "restic" && input.engine !== "borg")
    throw new ServiceError(`unknown engine "${input.engine}": use restic or borg.`);
  const machineProblem = input.machine === undefined ? undefined : machineNameProblem(input.machine);
  if (machineProblem) throw new ServiceError(machineProblem);
  const passwordFile = path.resolve(input.passwordFile);
  let password: string;
  try {
    password = fs.readFileSync(passwordFile, "utf8");
  } catch {
    throw new ServiceError(`cannot read the password file ${passwordFile}: create it (one line, the repository password) and make it readable by this user.`);
  }
  if (password.split("\n")[0]!.trim() === "")
    throw new ServiceError(`the password file ${passwordFile} is empty: put the repository password on its first line.`);
  const mode = fs.statSync(passwordFile).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new ServiceError(`the password file ${passwordFile} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); make it owner-only with \`chmod 600 ${passwordFile}\` and add the repository again.`);
  const location = isRemote(input.location) ? input.location : path.resolve(input.location);
  if (await db.prisma.repository.findUnique({ where: { name: input.name } }))
    throw new ServiceError(`a repository named "${input.name}" already exists: choose another name or remove it first.`);
  const caCertFile = input.caCertFile ? checkedCaCert(input.engine, input.caCertFile) : null;
  const unreachable = await restUnreachable(location, caCertFile ?? undefined);
  if (unreachable) throw new ServiceError(unreachable);
  const appendOnly = input.appendOnly === true || (await restRefusesDeletion(location, caCertFile ?? undefined));
  const engine = openEngine({ engine: input.engine, location, passwordFile, caCert: caCertFile ?? undefined, appendOnly });
  if (!(await engine.isInitialised())) {
    // Never initialise a repository on top of someone's files.
    if (!isRemote(location) && fs.existsSync(location) && fs.readdirSync(location).length > 0)
      throw new ServiceError(`${location} holds files but no ${input.engine} repository: give an empty or new directory, or the path of an existing repository.`);
    await engine.init();
  }
  return db.prisma.repository.create({ data: { name: input.name, engine: input.engine, location, passwordFile, caCertFile, appendOnly, machine: input.machine ?? null } });
}

/**
 * Looks a repository up by name.
 * @throws ServiceError naming `qubes-dedup repo add` when it is not registered.
 */
export async function getRepository(db: Database, name: string): Promise<RepositoryRow> {
  const repo = await db.prisma.repository.findUnique({ where: { name } });
  if (!repo) {
    const known = (await db.prisma.repository.findMany({ select: { name: true } })).map((r) => r.name);
    const hint = known.length ? `known: ${known.join(", ")}` : "none is registered yet";
    throw new ServiceError(
      `no repository named "${name}" (${hint}): register it with "qubes-dedup repo add ${name} --engine restic --location PATH --password-file FILE".`,
    );
  }
  return repo;
}

/**
 * The CA file of a new repository, absolute, after checking it holds a PEM certificate.
 * @throws ServiceError for borg (ssh has no CA option), an unreadable file or one that is no certificate
 */
function checkedCaCert(engine: EngineKind, file: string): string {
  if (engine !== "restic") throw new ServiceError("a CA certificate is a restic option (--cacert for a TLS REST server); borg over SSH trusts the server's host key instead: leave it out.");
  const abs = path.resolve(file);
  try {
    new X509Certificate(fs.readFileSync(abs));
  } catch (e) {
    throw new ServiceError(`the CA certificate ${abs} cannot be used (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a readable PEM file with the server's CA certificate (its own certificate when self-signed).`);
  }
  return abs;
}

/**
 * restic's cache directory for remote repositories: `$QUBES_DEDUP_CACHE_DIR`
 * (`off`: no cache), else `<directory of the index db>/cache` (in the backup
 * qube's persistent home, like the index db). A cache there spares every
 * backup, dump and listing the download of the repository's index and trees.
 */
export function resticCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const set = env.QUBES_DEDUP_CACHE_DIR;
  if (set === "off") return undefined;
  return set && set.trim() !== "" ? path.resolve(set) : path.join(dataDirectory(), "cache");
}

/** Opens the engine of a registered repository (no I/O until a method is called). */
export function engineFor(repo: RepositoryRow): Engine {
  return openEngine({
    engine: repo.engine as EngineKind, location: repo.location, passwordFile: repo.passwordFile,
    caCert: repo.caCertFile ?? undefined, appendOnly: repo.appendOnly, cacheDir: resticCacheDir(), machine: repo.machine ?? undefined,
  });
}

/** A registered repository without its password file's path, a URL's password shown as ***: what `repo list` shows. */
export type RepositorySummary = Omit<RepositoryRow, "passwordFile">;

/** Every registered repository, by name. */
export async function registeredRepositories(db: Database): Promise<RepositorySummary[]> {
  const repos = await db.prisma.repository.findMany({ orderBy: { name: "asc" } });
  return repos.map(({ passwordFile: _, ...r }) => ({ ...r, location: withoutPassword(r.location) }));
}
