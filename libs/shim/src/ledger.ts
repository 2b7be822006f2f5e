/**
 * The shim's half of dom0's ledger (docs/LEDGER.md), formats in
 * ledger-format.ts. On `enc` it appends what it wrote to the backup's spool
 * (whoever started it: qubesd runs the shim for backups); on `dec`, inside a
 * restore run the agent prepared, it refuses any chunk that is not the next
 * one the ledger recorded and journals what it accepted.
 */
import fs from "node:fs";
import path from "node:path";
import { SHIM_FILE } from "./install-plan.ts";
import { readSome } from "./io.ts";
import {
  chunkLabel,
  formatChunkRecord,
  formatJournalEntry,
  headerBackupId,
  judgeChunk,
  parseJournal,
  parseRestorePlan,
  type JournalEntry,
  type RestorePlan,
} from "./ledger-format.ts";

/** Overrides the state directory (the agent sets it for the runs it starts). */
export const STATE_DIR_ENV = "QUBES_DEDUP_STATE_DIR";
/** The restore run directory the agent prepared (plan.json, journal). */
export const RESTORE_RUN_ENV = "QUBES_DEDUP_RESTORE_RUN";
/** The agent's state directory, a system path. */
export const STATE_DIR = "/var/lib/qubes-dedup";
/** Header and qubes.xml files larger than this are not Qubes' (bytes). */
const SMALL_FILE_MAX = 1 << 20;

/**
 * The state directory: `$QUBES_DEDUP_STATE_DIR`, else `<prefix>/var/lib/qubes-dedup`
 * for a shim installed at `<prefix>/usr/lib/qubes-dedup/bin/scrypt` (this is
 * how qubesd's shim finds it: qubesd passes no such variable), else none.
 */
export function stateDir(shimPath: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env[STATE_DIR_ENV]) return env[STATE_DIR_ENV];
  const abs = path.resolve(shimPath);
  if (!abs.endsWith(SHIM_FILE)) return undefined;
  return path.join(abs.slice(0, -SHIM_FILE.length) || "/", STATE_DIR);
}

function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Reads the first `max` bytes of `fd` from offset 0. */
export function readHead(fd: number, length: number, max = SMALL_FILE_MAX): Buffer {
  const buf = Buffer.alloc(Math.min(length, max));
  let got = 0;
  while (got < buf.length) {
    const n = readSome(fd, buf.subarray(got), got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * A backup's spool directory. Spooling never fails the backup: an error
 * leaves a `broken` file, and the agent then does not record the backup.
 */
export class BackupSpool {
  private constructor(private readonly dir: string) {}

  /** The spool of `backupId` under `state` (created 0700 on first write). */
  static of(state: string, backupId: string): BackupSpool {
    return new BackupSpool(path.join(state, "spool", backupId));
  }

  /** Spools the header text; returns the spool of its backup-id, or undefined without one. */
  static header(state: string, header: Buffer): BackupSpool | undefined {
    const id = headerBackupId(header.toString("latin1"));
    if (!id) return undefined;
    const s = BackupSpool.of(state, id);
    s.guard(() => {
      privateDir(s.dir);
      fs.writeFileSync(path.join(s.dir, "header"), header, { mode: 0o600 });
    });
    return s;
  }

  /** Opens the copy of `qubes.xml.000`'s data; returns the block sink. */
  qubesXmlSink(): { write: (b: Buffer) => void; close: () => void } {
    let fd: number | undefined;
    this.guard(() => {
      privateDir(this.dir);
      fd = fs.openSync(path.join(this.dir, "qubes.xml.000"), "w", 0o600);
    });
    return {
      write: (b) => this.guard(() => fd !== undefined && fs.writeSync(fd, b)),
      close: () => this.guard(() => fd !== undefined && fs.closeSync(fd)),
    };
  }

  /** Appends one chunk line. */
  chunk(chunkPath: string, trailer: Buffer): void {
    this.guard(() => {
      privateDir(this.dir);
      const line = formatChunkRecord({ path: chunkPath, dataLength: Number(trailer.readBigUInt64BE(8)), tag: trailer.subarray(16).toString("hex") });
      fs.appendFileSync(path.join(this.dir, "chunks"), line, { mode: 0o600 });
    });
  }

  private guard(f: () => unknown): void {
    try {
      f();
    } catch (e) {
      try {
        fs.appendFileSync(path.join(this.dir, "broken"), `${(e as Error).message}\n`, { mode: 0o600 });
      } catch {
        // Nothing more can be done; the agent finds no complete spool.
      }
    }
  }
}

/** A restore run the agent prepared: its plan and the journal the shim appends to. */
export class RestoreRun {
  private constructor(
    readonly plan: RestorePlan,
    private readonly journal: string,
  ) {}

  /**
   * Opens `dir`. A run directory without a readable plan fails closed.
   * @throws Error with one sentence.
   */
  static open(dir: string): RestoreRun {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, "plan.json"), "utf8");
    } catch {
      throw new Error(`the restore plan ${path.join(dir, "plan.json")} cannot be read; run the restore again from the dom0 agent.`);
    }
    return new RestoreRun(parseRestorePlan(text), path.join(dir, "journal"));
  }

  private entries(): JournalEntry[] {
    try {
      return parseJournal(fs.readFileSync(this.journal, "utf8"));
    } catch {
      return [];
    }
  }

  /** Appends an entry to the journal. */
  record(e: JournalEntry): void {
    fs.appendFileSync(this.journal, formatJournalEntry(e), { mode: 0o600 });
  }

  /** The label for the shim's own messages about `chunkPath`, e.g. "chunk 001 of qube work's file private.img". */
  label(chunkPath: string): string | undefined {
    return chunkLabel(this.plan, chunkPath);
  }

  /** Checks the header's data: its backup-id must be the confirmed one. @returns the failure sentence, or null. */
  judgeHeader(header: Buffer): string | null {
    const got = headerBackupId(header.toString("latin1"));
    if (got === this.plan.backupId) return null;
    return `the stream's backup-header carries backup-id ${got ?? "(none)"}, not ${this.plan.backupId} that was confirmed in dom0 (the backup qube served another backup); nothing was restored, check the repository's snapshots and restore again.`;
  }

  /** Checks one chunk (backup-id and path from its passphrase line, tag from its trailer). @returns the failure sentence, or null. */
  judgeChunk(backupId: string, chunkPath: string, tag: string): string | null {
    if (backupId !== this.plan.backupId) return `chunk ${chunkPath} is read as part of backup ${backupId}, not ${this.plan.backupId} that was confirmed in dom0; restore again.`;
    if (chunkPath === "qubes.xml.000") {
      if (this.plan.qubesXmlTag === undefined || this.plan.qubesXmlTag === tag) return null;
      return `the stream's qubes.xml is not the one dom0 backed up in ${this.plan.backupId}; restore from an intact copy of the backup.`;
    }
    const accepted = this.entries().flatMap((e) => (e.kind === "ok" ? [e.path] : []));
    return judgeChunk(this.plan, accepted, chunkPath, tag);
  }
}
