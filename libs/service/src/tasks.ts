/**
 * Backup and restore requests (the service lib's requestBackup /
 * requestRestore over qrexec-client-vm) running in the background of the server
 * process: a tRPC mutation starts one and returns at once; the page polls
 * its state. Kept on globalThis (one registry per process, also across
 * Next.js module re-evaluation). A restart forgets them; the job rows the
 * service lib writes stay in the index db.
 */
import type { Database } from "@qubes-dedup/db";
import { progressFigures, type ProgressFigures } from "./progress.ts";
import { requestBackup, requestRestore, requestRestorePoint, type RequestResult, type RequestState } from "./qrexec.ts";
import { ServiceError } from "./errors.ts";
import { processAlive } from "./jobs.ts";
import type { BackupTaskInput, RestorePointTaskInput, RestoreTaskInput } from "./request-inputs.ts";

/** "starting" until the qrexec call reports; "cancelled" after the user stopped it. */
export type TaskState = "starting" | RequestState | "cancelled";

/** A request as the page sees it. Times are Dates; see ProgressFigures for units. */
export interface TaskView extends ProgressFigures {
  id: number;
  kind: "backup" | "restore";
  repository: string;
  state: TaskState;
  /** Qubes named in the request; empty = dom0's default set / the whole snapshot. */
  qubes: string[];
  snapshot: string | null;
  verifyOnly: boolean;
  /** One sentence once the request ended. */
  message: string | null;
  /** dom0's note lines so far (a changed-only backup's verdict per qube, a restore point's runs). */
  notes: string[];
  /** The request's job row in the index db, once known. */
  jobId: number | null;
  startedAt: Date;
  finishedAt: Date | null;
}

interface Task {
  view: Omit<TaskView, keyof ProgressFigures>;
  repositoryId: number;
  percent: number | null;
  abort: AbortController;
  done: Promise<unknown>;
}

const key = Symbol.for("qubes-dedup.web.tasks");
type Registry = { next: number; tasks: Map<number, Task> };
function registry(): Registry {
  const g = globalThis as { [key]?: Registry };
  g[key] ??= { next: 1, tasks: new Map() };
  return g[key];
}

/** Requests kept in memory after they end, newest first, for the pages. */
const KEEP_FINISHED = 50;

const CANCELLED = "Cancelled from the dashboard; no snapshot was recorded for this run.";

const ENDED: ReadonlySet<TaskState> = new Set(["succeeded", "failed", "refused", "cancelled"]);

/** True when the task will not change any more. */
export function taskEnded(state: TaskState): boolean {
  return ENDED.has(state);
}

function prune(r: Registry): void {
  const ended = [...r.tasks.values()].filter((t) => taskEnded(t.view.state)).sort((a, b) => b.view.id - a.view.id);
  for (const t of ended.slice(KEEP_FINISHED)) r.tasks.delete(t.view.id);
}

/** Looks the repository up by name. @throws Error naming the fix when it is not registered. */
async function repositoryId(db: Database, name: string): Promise<number> {
  const repo = await db.prisma.repository.findUnique({ where: { name }, select: { id: true } });
  if (!repo) throw new Error(`There is no repository named "${name}": add it on the Repositories page first.`);
  return repo.id;
}

/** One sentence refusing a second backup of `repository` while `what` still runs. */
function busy(repository: string, what: string): ServiceError {
  return new ServiceError(`A backup of repository "${repository}" is already under way (${what}): wait for it to end, or cancel it, before asking for another.`);
}

/**
 * Refuses a backup of a repository that already has one in flight: a task
 * of this process not ended yet, or a backup request or ingest recorded as
 * waiting/running by a live process (another server, the CLI, dom0's own run).
 * @throws ServiceError naming the running request.
 */
async function refuseSecondBackup(db: Database, repoId: number, repository: string): Promise<void> {
  const mine = runningBackup(repoId);
  if (mine) throw busy(repository, `request #${mine.view.id}, ${mine.view.state}`);
  const jobs = await db.prisma.job.findMany({ where: { repositoryId: repoId, kind: { in: ["backup-request", "backup"] }, status: { in: ["waiting", "running"] } } });
  const live = jobs.find((j) => j.pid !== null && processAlive(j.pid));
  if (live) throw busy(repository, `${live.kind === "backup" ? "an ingest" : "a request"} started ${live.startedAt.toISOString().slice(0, 19).replace("T", " ")} UTC by process ${live.pid}`);
}

/** This process's backup task of a repository that has not ended, if any. */
function runningBackup(repoId: number): Task | undefined {
  return [...registry().tasks.values()].find((t) => t.view.kind === "backup" && t.repositoryId === repoId && !taskEnded(t.view.state));
}

function launch(
  base: Omit<Task["view"], "id" | "state" | "message" | "jobId" | "startedAt" | "finishedAt" | "notes">,
  repoId: number,
  run: (events: { onState(s: RequestState): void; onProgress(p: number): void; onNote(n: string): void }, signal: AbortSignal) => Promise<RequestResult>,
): TaskView {
  const r = registry();
  // Checked again here, synchronously with the insert: two calls that both
  // passed refuseSecondBackup's await cannot both get past this line.
  const other = base.kind === "backup" ? runningBackup(repoId) : undefined;
  if (other) throw busy(base.repository, `request #${other.view.id}, ${other.view.state}`);
  const abort = new AbortController();
  const task: Task = {
    view: { ...base, id: r.next++, state: "starting", message: null, jobId: null, startedAt: new Date(), finishedAt: null, notes: [] },
    repositoryId: repoId,
    percent: null,
    abort,
    done: Promise.resolve(),
  };
  const events = {
    onState: (s: RequestState) => {
      if (!taskEnded(task.view.state)) task.view.state = s;
    },
    onProgress: (p: number) => {
      task.percent = p;
    },
    onNote: (n: string) => {
      if (task.view.notes.length < 1000) task.view.notes.push(n);
    },
  };
  const end = (state: TaskState, message: string, jobId?: number): true => {
    task.view.state = state;
    task.view.message = message;
    task.view.finishedAt = new Date();
    if (jobId !== undefined) task.view.jobId = jobId;
    if (state === "succeeded") task.percent = 100;
    prune(r);
    return true;
  };
  // A cancelled request may settle as "failed" (its process was killed): the user's action names it.
  const cancelled = () => abort.signal.aborted && end("cancelled", CANCELLED);
  task.done = run(events, abort.signal).then(
    (o) => (o.outcome === "succeeded" ? end(o.outcome, o.message, o.jobId) : cancelled() || end(o.outcome, o.message, o.jobId)),
    (e: unknown) => cancelled() || end("failed", (e as Error).message),
  );
  r.tasks.set(task.view.id, task);
  return { ...task.view, ...progressFigures(null, null) };
}

/**
 * Sends a backup request to dom0 in the background and returns its task.
 * One backup per repository at a time: a second one is refused while the
 * first is waiting or running (one click, one request).
 * @throws Error when the repository is unknown; ServiceError when a backup of it is under way.
 */
export async function startBackup(db: Database, input: BackupTaskInput): Promise<TaskView> {
  const id = await repositoryId(db, input.repository);
  await refuseSecondBackup(db, id, input.repository);
  const base = { kind: "backup" as const, repository: input.repository, qubes: input.qubes, snapshot: null, verifyOnly: false };
  const req = { repository: input.repository, qubes: input.qubes, exclude: input.exclude, changed: input.changed, full: input.full };
  return launch(base, id, (events, signal) => requestBackup(db, req, events, signal));
}

/**
 * Sends a restore request to dom0 in the background and returns its task.
 * @throws Error when the repository is unknown.
 */
export async function startRestore(db: Database, input: RestoreTaskInput): Promise<TaskView> {
  const id = await repositoryId(db, input.repository);
  const base = { kind: "restore" as const, repository: input.repository, qubes: input.qubes, snapshot: input.snapshot, verifyOnly: input.verifyOnly };
  const req = { repository: input.repository, snapshot: input.snapshot, qubes: input.qubes, verifyOnly: input.verifyOnly, paranoid: input.paranoid, conflicts: input.conflicts };
  return launch(base, id, (events, signal) => requestRestore(db, req, events, signal));
}

/**
 * Sends a restore-point request to dom0 in the background and returns its
 * task (its `snapshot` is `point:<point>`; dom0 plans the runs from its ledger).
 * @throws Error when the repository is unknown.
 */
export async function startRestorePoint(db: Database, input: RestorePointTaskInput): Promise<TaskView> {
  const id = await repositoryId(db, input.repository);
  const base = { kind: "restore" as const, repository: input.repository, qubes: input.qubes, snapshot: `point:${input.point}`, verifyOnly: false };
  return launch(base, id, (events, signal) => requestRestorePoint(db, input, events, signal));
}

/** Asks a running task to stop; false when there is no such task or it already ended. */
export function cancelTask(id: number): boolean {
  const t = registry().tasks.get(id);
  if (!t || taskEnded(t.view.state)) return false;
  t.abort.abort();
  return true;
}

/** Resolves when the task has ended (tests, shutdown). */
export async function taskDone(id: number): Promise<void> {
  await registry().tasks.get(id)?.done;
}

/**
 * The job doing a task's data work in this qube: for a backup the newest
 * "backup" (ingest) job of its repository started after the request (the
 * `qubes-dedup ingest` that dom0's qvm-backup runs writes it); for a restore
 * the newest "dump" job (qvm-backup-restore runs `qubes-dedup dump` up to
 * three times, the last one reads the data). Until there is one, the
 * request's own percent is shown.
 */
async function figures(db: Database, t: Task, now: Date): Promise<ProgressFigures> {
  const job = await db.prisma.job.findFirst({
    where: { repositoryId: t.repositoryId, kind: t.view.kind === "backup" ? "backup" : "dump", startedAt: { gte: new Date(t.view.startedAt.getTime() - 1000) } },
    orderBy: { id: "desc" },
  });
  if (!job) return progressFigures(null, t.percent);
  const end = job.finishedAt ?? now;
  const fig = progressFigures({ bytesDone: job.bytesDone, bytesExpected: job.bytesExpected, elapsedSeconds: (end.getTime() - job.startedAt.getTime()) / 1000 }, t.percent);
  if (t.view.state === "succeeded") return { ...fig, percent: 100, etaSeconds: 0 };
  return fig;
}

/** One task with its progress, or null when unknown (e.g. after a restart). */
export async function getTask(db: Database, id: number, now: Date = new Date()): Promise<TaskView | null> {
  const t = registry().tasks.get(id);
  if (!t) return null;
  return { ...t.view, ...(await figures(db, t, now)) };
}

/** Every task this process knows of, newest first, optionally of one kind. */
export async function listTasks(db: Database, kind?: "backup" | "restore", now: Date = new Date()): Promise<TaskView[]> {
  const tasks = [...registry().tasks.values()].filter((t) => !kind || t.view.kind === kind).sort((a, b) => b.view.id - a.view.id);
  return Promise.all(tasks.map(async (t) => ({ ...t.view, ...(await figures(db, t, now)) })));
}
