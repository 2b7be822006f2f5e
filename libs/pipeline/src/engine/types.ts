import type { Readable, Writable } from "node:stream";
import type { EngineError } from "../errors.ts";
import type { CheckProgress } from "./check-progress.ts";

export type EngineKind = "restic" | "borg";

/** A repository: engine, location (path or URL) and a file holding its password. */
export interface RepositoryRef {
  engine: EngineKind;
  location: string;
  passwordFile: string;
  /** PEM file of the CA that signed the server's TLS certificate (restic `--cacert`; a self-signed rest-server's own certificate) */
  caCert?: string;
  /**
   * The server keeps this repository append-only (rest-server `--append-only`,
   * `borg serve --append-only`): `forget` and `prune` throw at once
   * (appendOnlyRefusal) instead of asking a server that refuses.
   */
  appendOnly?: boolean;
  /**
   * restic's cache directory for a remote repository (index and trees kept
   * between runs instead of downloaded again); a local repository, or none
   * given, runs with `--no-cache`
   */
  cacheDir?: string;
  /**
   * The machine this repository is used from, when several back up into it
   * (layout/tags.ts, MACHINE_TAG_PREFIX): every snapshot it stores carries
   * the tag `qd-machine:<machine>` (restic: also `--host <machine>`), and
   * `snapshots()` lists only those. Undefined: every snapshot is this machine's.
   */
  machine?: string;
}

export interface EngineSnapshot {
  id: string;
  time: Date;
  tags: string[];
  paths: string[];
}

export interface BackupStdinOptions {
  filename: string;
  tags: string[];
  hostname?: string;
  /**
   * restic: seconds its backend may keep failing (it retries uploads for up
   * to ~15 minutes) before the backup is interrupted and fails naming the
   * server (default 60); also bounds the wait for it to exit
   */
  backendTimeoutSeconds?: number;
}

/** A running `backup --stdin` / `create -`: write the stream to `stdin`. */
export interface StdinBackup {
  stdin: Writable;
  /** resolves once the engine wrote the snapshot; rejects with EngineError */
  done: Promise<{ snapshotId: string; addedBytes: number }>;
  /** stops the engine without a snapshot (SIGINT, then SIGKILL); resolves on exit */
  interrupt(): Promise<void>;
}

export interface DumpFileOptions {
  /**
   * seconds the repository's server may keep failing (restic: retrying;
   * borg: saying nothing) before the dump is stopped and fails naming the
   * server (default 60)
   */
  backendTimeoutSeconds?: number;
}

/** A running `dump` / `extract --stdout`. */
export interface StdoutDump {
  stdout: Readable;
  /** resolves when the engine exits well; rejects with EngineError */
  done: Promise<void>;
  /**
   * stops the engine (the reader went away): its output is drained and
   * discarded until it exits, so it never dies of SIGPIPE holding its lock;
   * resolves once it has exited. Destroying `stdout` does the same.
   */
  kill(): Promise<void>;
  /** bytes the engine has written so far, read by the caller or drained after kill() */
  bytesOut?(): number;
}

/** One repository behind restic or borg. Every method throws EngineError. */
export interface Engine {
  readonly kind: EngineKind;
  readonly repo: RepositoryRef;
  /** true when the repository exists and opens with the password; false when absent (throws on a wrong password) */
  /**
   * @param opts.timeoutSeconds stop the engine after this long (a server that
   *   never answers) and throw EngineError "network" saying so
   */
  isInitialised(opts?: { timeoutSeconds?: number }): Promise<boolean>;
  /** creates the repository (restic init / borg init -e repokey-blake2) */
  init(): Promise<void>;
  /** the repository's snapshots (only `repo.machine`'s when it is set), with tag `opts.tag` when given */
  snapshots(opts?: { tag?: string }): Promise<EngineSnapshot[]>;
  /** total bytes the repository occupies (restic stats --mode raw-data / borg info) */
  repositoryBytes(): Promise<number>;
  /** the integrity check (restic check / borg check); `onProgress` gets each status the engine prints (check-progress.ts) */
  check(opts?: { readDataSubset?: string; onProgress?: (p: CheckProgress) => void }): Promise<void>;
  forget(ids: string[]): Promise<void>;
  /** frees the space nothing refers to any more, such as a failed run's packs (restic prune / borg compact) */
  prune(): Promise<void>;
  /**
   * Removes the repository locks of processes that are gone (killed, power
   * loss) and only those: restic `unlock` (same host and process gone, or
   * older than 30 minutes); borg: `break-lock` only when every lock is one of
   * this host's and its process is gone.
   * @returns how many locks were removed (0 costs no engine start for a local repository without locks)
   */
  removeStaleLocks(): Promise<number>;
  /**
   * For a local repository whose engine reserves free space before it
   * commits (borg 1.2: one segment plus index and hints): the refusal to give
   * before a backup starts when that much is not free, else undefined.
   */
  freeSpaceProblem?(): Promise<EngineError | undefined>;
  /** starts storing stdin as one file `filename` in a new snapshot with these tags (and `repo.machine`'s tag) */
  backupStdin(opts: BackupStdinOptions): StdinBackup;
  /** streams file `filename` of a snapshot to stdout */
  dumpFile(snapshotId: string, filename: string, opts?: DumpFileOptions): StdoutDump;
  /**
   * the full id of the one snapshot whose id starts with `shortId`, read
   * without starting the engine when the repository is on this machine;
   * undefined when that cannot tell (the caller then lists snapshots)
   */
  localFullId?(shortId: string): Promise<string | undefined>;
}
