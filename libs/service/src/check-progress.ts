/**
 * Live progress of the repository checks this process runs (maintenance
 * runs of kind "check"): the step the engine is at, its percent and counts
 * (libs/pipeline's CheckProgress), the time since the check and since the
 * step started, and the step's ETA. Kept in memory on globalThis like the
 * request tasks (tasks.ts): a check runs in the process that started it,
 * and a restart ends it anyway.
 */
import type { CheckProgress } from "@qubes-dedup/pipeline";
import { etaSeconds } from "./progress.ts";

/** What the run log shows for a running check. Seconds; percent 0-100. */
export interface CheckRunProgress {
  /** The engine's step ("read 5.0% of data packs", "Verifying data"), null before its first status. */
  step: string | null;
  percent: number | null;
  done: number | null;
  total: number | null;
  unit: string | null;
  elapsedSeconds: number;
  /** Left of this step at its pace so far (the step reading data is the long one). */
  stepEtaSeconds: number | null;
  /** Said when there is no figure yet: "no progress figure from borg yet". */
  note: string | null;
}

interface Live {
  engine: string;
  startedAt: number;
  stepStartedAt: number;
  last: CheckProgress | null;
}

const key = Symbol.for("qubes-dedup.check-progress");
function live(): Map<number, Live> {
  const g = globalThis as { [key]?: Map<number, Live> };
  g[key] ??= new Map();
  return g[key];
}

/**
 * Starts following check run `runId` on `engine`; returns the listener for
 * the engine's statuses and the function that forgets the run once it ended.
 */
export function followCheck(runId: number, engine: string, now: () => number = Date.now): { onProgress: (p: CheckProgress) => void; end: () => void } {
  const l: Live = { engine, startedAt: now(), stepStartedAt: now(), last: null };
  live().set(runId, l);
  return {
    onProgress: (p) => {
      if (p.step !== l.last?.step) l.stepStartedAt = now();
      l.last = p;
    },
    end: () => live().delete(runId),
  };
}

/** The figures of a followed run at `nowMs`. Pure. */
export function checkRunFigures(l: Live, nowMs: number): CheckRunProgress {
  const elapsedSeconds = Math.max(0, (nowMs - l.startedAt) / 1000);
  const p = l.last;
  if (!p) return { step: null, percent: null, done: null, total: null, unit: null, elapsedSeconds, stepEtaSeconds: null, note: `no progress figure from ${l.engine} yet` };
  const fraction = p.total ? p.done! / p.total : p.percent / 100;
  return { ...p, elapsedSeconds, stepEtaSeconds: etaSeconds(fraction, (nowMs - l.stepStartedAt) / 1000), note: null };
}

/** Progress of check run `runId` if this process is running it, else null. */
export function checkProgressOf(runId: number, nowMs: number = Date.now()): CheckRunProgress | null {
  const l = live().get(runId);
  return l ? checkRunFigures(l, nowMs) : null;
}
