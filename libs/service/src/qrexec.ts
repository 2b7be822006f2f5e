/**
 * The backup qube's side of qubes.DedupBackup / qubes.DedupRestore: asks
 * dom0 over qrexec (`qrexec-client-vm dom0 <service>`, found on PATH or at
 * `$QUBES_DEDUP_QREXEC_CLIENT`) to run a backup or a restore, and records
 * the request as a job: "waiting" (for dom0's confirmation), "running"
 * from the first `progress` line, then "succeeded", "failed" or "refused".
 * dom0 builds the command it runs itself; the request only carries names
 * and options (@qubes-dedup/protocol has the grammar).
 *
 * dom0's answer, one line each (parsed by @qubes-dedup/protocol
 * `parseReply`): `progress <percent>`, then `ok <summary>`, `error <reason>`
 * (the run failed) or `error: <reason>` (refused before anything ran). A call refused by the qrexec policy or the dom0 user ends
 * with exit status 126 and `Request refused` on stderr.
 */
import { createInterface } from "node:readline";
import { execa } from "execa";
import type { Database } from "@qubes-dedup/db";
import { RESTORE_POINT_RE, parseNote, parseReply } from "@qubes-dedup/protocol";
import { ServiceError } from "./errors.ts";
import { getRepository } from "./repositories.ts";
import { processAlive } from "./jobs.ts";
import { notifyWebhook } from "./webhook.ts";
import { assertRestorable } from "./restore-check.ts";

/** How a request ended. */
export type RequestOutcome = "succeeded" | "failed" | "refused";
/** The states a request job goes through. */
export type RequestState = "waiting" | "running" | RequestOutcome;

/** Callbacks while a request runs; `percent` is 0..100. */
export interface RequestEvents {
  onState?(state: RequestState): void;
  onProgress?(percent: number): void;
  /** A `note` line of dom0 (a `"changed": true` backup's verdict on one qube, a restore point's run), also kept in the job's log. */
  onNote?(text: string): void;
}

/** What {@link requestBackup} asks for; no qubes means qvm-backup's default selection. */
export interface BackupRequestInput {
  /** Registered repository name (the `--repo` of `qubes-dedup ingest` in dom0's location). */
  repository: string;
  qubes?: string[];
  exclude?: string[];
  /** Only the qubes whose data or settings changed since dom0's change record (the request's `"changed": true`). */
  changed?: boolean;
  /** With `changed`: every selected qube all the same (a full backup). */
  full?: boolean;
}

/** What {@link requestRestorePoint} asks for. */
export interface RestorePointRequestInput {
  repository: string;
  /** "latest", a backup-id, or an ISO 8601 UTC time: dom0 takes, for each qube, its latest backup at or before it from its own ledger. */
  point: string;
  /** Qubes to restore; none means every qube of the point. */
  qubes?: string[];
  conflicts?: "rename" | "skip";
}

/** What {@link requestRestore} asks for. */
export interface RestoreRequestInput {
  repository: string;
  /** The engine's snapshot id (restic hex id or borg archive name). */
  snapshot: string;
  /** Qubes to restore; none means every qube in the snapshot. */
  qubes?: string[];
  /** Only verify the backup (qvm-backup-restore --verify-only). */
  verifyOnly?: boolean;
  /** Decrypt in a disposable qube (qvm-backup-restore --paranoid-mode). */
  paranoid?: boolean;
  /** What to do with qubes that already exist: rename the restored one or skip it. */
  conflicts?: "rename" | "skip";
}

/** The end of a request: its job row, outcome and one-sentence message. */
export interface RequestResult {
  jobId: number;
  outcome: RequestOutcome;
  message: string;
}

/** Exit status of qrexec-client-vm when the call was refused. */
const REFUSED_EXIT = 126;

/**
 * Asks dom0 for a backup of `input.qubes` (or its default selection) into
 * `input.repository`, waits for the end and records it as a "backup-request"
 * job. The snapshot itself is recorded by `qubes-dedup ingest`, which dom0's
 * qvm-backup runs in this qube; the job's snapshotRef names it on success.
 * Aborting `signal` kills the client; dom0 stops when it sees the channel closed.
 * @throws ServiceError when the repository is not registered (no job is recorded).
 */
export async function requestBackup(db: Database, input: BackupRequestInput, events: RequestEvents = {}, signal?: AbortSignal): Promise<RequestResult> {
  const request = {
    repo: input.repository,
    ...(input.qubes?.length ? { qubes: input.qubes } : {}),
    ...(input.exclude?.length ? { exclude: input.exclude } : {}),
    ...(input.changed ? { changed: true } : {}),
    ...(input.changed && input.full ? { full: true } : {}),
  };
  return runRequest(db, { service: "qubes.DedupBackup", kind: "backup-request", repository: input.repository, request, notify: true }, events, signal);
}

/**
 * Asks dom0 to restore `input.snapshot` (qvm-backup-restore through
 * `qubes-dedup dump`); dom0 asks its user to confirm first, during which the
 * job is "waiting". Records a "restore" job with snapshotRef = the snapshot.
 * The repository's webhook is told of the end unless `opts.notify` is false
 * (a restore drill reports as the drill).
 * @throws ServiceError when the repository is not registered or neither its index nor the repository knows the snapshot (no job is recorded, dom0 is not asked).
 */
export async function requestRestore(
  db: Database,
  input: RestoreRequestInput,
  events: RequestEvents = {},
  signal?: AbortSignal,
  opts: { notify?: boolean } = {},
): Promise<RequestResult> {
  // the snapshot's backup-id, so that dom0's ledger takes the backup the user chose, not its newest
  const backupId = await assertRestorable(db, input.repository, input.snapshot);
  const request = {
    repo: input.repository,
    snapshot: input.snapshot,
    ...(backupId ? { backupId } : {}),
    ...(input.qubes?.length ? { qubes: input.qubes } : {}),
    ...(input.verifyOnly ? { verifyOnly: true } : {}),
    ...(input.paranoid ? { paranoid: true } : {}),
    ...(input.conflicts ? { conflicts: input.conflicts } : {}),
  };
  const call: Call = { service: "qubes.DedupRestore", kind: "restore", repository: input.repository, request, snapshotRef: input.snapshot, notify: opts.notify ?? true };
  return runRequest(db, call, events, signal);
}

/**
 * Asks dom0 to restore a restore point (or some qubes of it): dom0 builds
 * the plan from its own ledger, confirms it once in a dom0 dialog listing
 * every qube and the date of its data, and runs qvm-backup-restore once per
 * backup involved; each run's start comes back as a note in the job's log.
 * Records a "restore" job with snapshotRef = `point:<point>`.
 * @throws ServiceError when the repository is not registered or the point is not valid (no job is recorded, dom0 is not asked).
 */
export async function requestRestorePoint(db: Database, input: RestorePointRequestInput, events: RequestEvents = {}, signal?: AbortSignal): Promise<RequestResult> {
  if (!RESTORE_POINT_RE.test(input.point)) throw new ServiceError(`restore point "${input.point.slice(0, 40)}" is not valid: use latest, a backup-id or a UTC time such as 2026-12-02T10:00:00Z.`);
  const request = { repo: input.repository, point: input.point, ...(input.qubes?.length ? { qubes: input.qubes } : {}), ...(input.conflicts ? { conflicts: input.conflicts } : {}) };
  return runRequest(db, { service: "qubes.DedupRestore", kind: "restore", repository: input.repository, request, snapshotRef: `point:${input.point}`, notify: true }, events, signal);
}

interface Call {
  service: "qubes.DedupBackup" | "qubes.DedupRestore";
  kind: "backup-request" | "restore";
  repository: string;
  request: Record<string, unknown>;
  snapshotRef?: string;
  /** Tell the repository's webhook of the end. */
  notify: boolean;
}

/** What dom0 said, as parsed from its lines. */
interface Answer {
  final?: { outcome: RequestOutcome; message: string };
  notes: string[];
  running: boolean;
  percent?: number;
}

/** Fails "waiting" request jobs whose process is gone (failAbandonedJobs covers "running" ones). */
async function failAbandonedRequests(db: Database): Promise<void> {
  for (const job of await db.prisma.job.findMany({ where: { status: "waiting" } })) {
    if (job.pid != null && (job.pid === process.pid || processAlive(job.pid))) continue;
    await db.prisma.job.update({
      where: { id: job.id },
      data: { status: "failed", finishedAt: new Date(), error: "the process waiting for dom0's answer stopped (killed or power loss); send the request again." },
    });
  }
}

function clientCommand(): string {
  return process.env.QUBES_DEDUP_QREXEC_CLIENT || "qrexec-client-vm";
}

async function runRequest(db: Database, call: Call, events: RequestEvents, signal?: AbortSignal): Promise<RequestResult> {
  const repo = await getRepository(db, call.repository);
  await failAbandonedRequests(db);
  const line = JSON.stringify(call.request);
  const job = await db.prisma.job.create({
    data: { repositoryId: repo.id, kind: call.kind, status: "waiting", pid: process.pid, request: line, ...(call.snapshotRef ? { snapshotRef: call.snapshotRef } : {}) },
  });
  events.onState?.("waiting");
  const recorder = percentRecorder(db, job.id);
  const answer: Answer = { running: false, notes: [] };
  const client = execa(clientCommand(), ["dom0", call.service], { stdin: "pipe", stdout: "pipe", stderr: "pipe", reject: false, buffer: false, cancelSignal: signal, forceKillAfterDelay: 5000 });
  let stderr = "";
  client.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-2000)));
  client.stdin?.on("error", () => {});
  client.stdin?.end(`${line}\n`);
  const lines = client.stdout ? createInterface({ input: client.stdout, crlfDelay: Infinity }) : undefined;
  lines?.on("line", (l) => onLine(l, answer, db, job.id, events, recorder));
  const r = await client;
  lines?.close();
  await recorder.flush();
  const final = conclude(r, answer, stderr, signal);
  const snapshotRef = await recordEnd(db, job.id, repo.id, call.kind, job.startedAt, final, answer.percent, answer.notes);
  events.onState?.(final.outcome);
  if (call.notify) {
    const kind = call.kind === "backup-request" ? "backup" : call.request.verifyOnly ? "verify-only restore" : "restore";
    const outcome = { repository: call.repository, kind, status: final.outcome, message: final.message, snapshot: snapshotRef ?? call.snapshotRef ?? null, startedAt: job.startedAt.toISOString(), finishedAt: new Date().toISOString() };
    await notifyWebhook(db, repo.id, outcome);
  }
  return { jobId: job.id, ...final };
}

/** Bytes of dom0's notes kept in a job's log. */
const LOG_LIMIT = 64 * 1024;

function onLine(l: string, answer: Answer, db: Database, jobId: number, events: RequestEvents, recorder: ReturnType<typeof percentRecorder>): void {
  const note = parseNote(l);
  if (note !== null) {
    if (!answer.final) {
      answer.notes.push(note);
      events.onNote?.(note);
    }
    return;
  }
  const reply = parseReply(l);
  if (reply?.kind === "progress") {
    if (!answer.running) {
      answer.running = true;
      recorder.status("running");
      events.onState?.("running");
    }
    if (reply.percent !== answer.percent) {
      answer.percent = reply.percent;
      recorder.percent(reply.percent);
      events.onProgress?.(reply.percent);
    }
    return;
  }
  if (!reply || answer.final) return;
  answer.final = reply.kind === "ok" ? { outcome: "succeeded", message: reply.summary } : { outcome: reply.kind, message: reply.reason };
}

type ClientResult = Awaited<ReturnType<typeof execa>>;

function conclude(r: ClientResult, answer: Answer, stderr: string, signal?: AbortSignal): { outcome: RequestOutcome; message: string } {
  if (signal?.aborted || r.isCanceled) {
    return { outcome: "failed", message: "the request was cancelled before dom0 answered it; dom0 stops its run when it sees the channel closed, send the request again if needed." };
  }
  if (r.exitCode === undefined && !r.isTerminated) {
    return { outcome: "failed", message: `cannot run ${clientCommand()} (${r.originalMessage ?? r.shortMessage}); run this in the backup qube, where qrexec-client-vm exists, or set QUBES_DEDUP_QREXEC_CLIENT.` };
  }
  if (answer.final?.outcome === "succeeded" && r.exitCode === 0) return answer.final;
  if (answer.final && answer.final.outcome !== "succeeded") return answer.final;
  if (r.exitCode === REFUSED_EXIT) {
    return { outcome: "refused", message: "dom0 refused the request (its qrexec policy denies it or the confirmation was declined); confirm it in dom0, or allow qubes.DedupBackup / qubes.DedupRestore for this qube in /etc/qubes/policy.d/30-qubes-dedup.policy." };
  }
  const tail = stderr.trim().split("\n").at(-1);
  return { outcome: "failed", message: `dom0's handler ended without an outcome (exit ${r.exitCode ?? r.signal})${tail ? `: ${tail}` : ""}; check dom0's journal for qubes.DedupBackup / qubes.DedupRestore.` };
}

/** Records how the request ended; returns the snapshot a successful backup made, when known. */
async function recordEnd(
  db: Database,
  jobId: number,
  repositoryId: number,
  kind: Call["kind"],
  startedAt: Date,
  end: { outcome: RequestOutcome; message: string },
  percent?: number,
  notes: string[] = [],
): Promise<string | undefined> {
  let snapshotRef: string | undefined;
  if (kind === "backup-request" && end.outcome === "succeeded") {
    // The ingest that dom0's qvm-backup ran in this qube recorded the snapshot.
    const ingest = await db.prisma.job.findFirst({ where: { repositoryId, kind: "backup", status: "succeeded", startedAt: { gte: startedAt } }, orderBy: { id: "desc" } });
    snapshotRef = ingest?.snapshotRef ?? undefined;
  }
  await db.prisma.job.update({
    where: { id: jobId },
    data: {
      status: end.outcome,
      finishedAt: new Date(),
      ...(end.outcome === "succeeded" ? { summary: end.message, error: null } : { error: end.message }),
      ...(percent !== undefined ? { percent } : {}),
      ...(snapshotRef ? { snapshotRef } : {}),
      ...(notes.length ? { log: notes.join("\n").slice(0, LOG_LIMIT) } : {}),
    },
  });
  return snapshotRef;
}

/** Writes status and percent to the job, one write at a time, percent at most once a second. */
function percentRecorder(db: Database, jobId: number) {
  let chain: Promise<unknown> = Promise.resolve();
  let last = 0;
  let pending: number | undefined;
  const enqueue = (data: { status?: string; percent?: number }) => {
    chain = chain.then(() => db.prisma.job.update({ where: { id: jobId }, data })).catch(() => {});
  };
  return {
    status(status: string) {
      enqueue({ status });
    },
    percent(p: number) {
      pending = p;
      if (Date.now() - last < 1000) return;
      last = Date.now();
      enqueue({ percent: p });
      pending = undefined;
    },
    async flush() {
      if (pending !== undefined) enqueue({ percent: pending });
      pending = undefined;
      await chain;
    },
  };
}
