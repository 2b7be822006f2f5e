"use client";
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../../src/client/trpc.ts";
import { lastUsedRepository, pickRepository, rememberRepository } from "../../src/client/repository-choice.ts";
import { StatusBadge, Time } from "../../src/client/bits.tsx";
import { splitNames } from "../../src/client/TaskProgress.tsx";
import { checkProgressText } from "../../src/shared/format.ts";

const KIND_TEXT = {
  backup: "Backup (request to dom0)",
  retention: "Retention (forget + prune by the policy)",
  check: "Verification: repository check",
  drill: "Verification: restore drill (--verify-only of the newest snapshot)",
} as const;
type Kind = keyof typeof KIND_TEXT;

/** Schedules (cron, UTC, next runs), retention policy per repository, verification and the run log. */
export default function SchedulesPage() {
  const trpc = useTRPC();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  const [picked, setPicked] = useState<number | null>(null);
  if (repos.isPending) return <p className="muted">Loading…</p>;
  if (repos.isError) return <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>;
  const repo = repos.data.find((r) => r.id === picked) ?? pickRepository(repos.data, lastUsedRepository());
  if (!repo) return <p className="empty">No repository yet: add one on the Repositories page first.</p>;
  return (
    <>
      <section className="panel">
        <h1>Schedules</h1>
        <label>
          Repository{" "}
          <select value={repo.id} onChange={(e) => (setPicked(Number(e.target.value)), rememberRepository(repos.data.find((r) => r.id === Number(e.target.value))?.name ?? ""))} data-testid="sched-repo">
            {repos.data.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({r.engine})
              </option>
            ))}
          </select>
        </label>
        <ScheduleList repositoryId={repo.id} />
        <NewSchedule repositoryId={repo.id} appendOnly={repo.appendOnly} key={`new-${repo.id}`} />
      </section>
      <Retention repositoryId={repo.id} repository={repo.name} elsewhere={repo.retentionElsewhere} key={repo.id} />
      <Webhook repo={repo} key={`hook-${repo.id}`} />
      <RunLog />
    </>
  );
}

function ScheduleList({ repositoryId }: { repositoryId: number }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.schedules.list.queryOptions());
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.schedules.list.queryKey() });
  const toggle = useMutation(trpc.schedules.setEnabled.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.schedules.remove.mutationOptions({ onSuccess: refresh }));
  if (list.isPending) return <p className="muted">Loading schedules…</p>;
  const mine = (list.data ?? []).filter((s) => s.repositoryId === repositoryId);
  if (mine.length === 0) return <p className="muted">No schedule for this repository yet.</p>;
  return (
    <table data-testid="schedules">
      <thead>
        <tr>
          <th>What</th>
          <th>Cron (UTC)</th>
          <th>Next runs</th>
          <th>Last run</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {mine.map((s) => (
          <tr key={s.id} data-testid="schedule-row">
            <td>
              {KIND_TEXT[s.kind]}
              {s.kind === "backup" && (
                <div className="muted">
                  {s.qubes.length ? s.qubes.join(", ") : "default set"}
                  {s.fullBackup ? "; every qube each time" : "; changed qubes only"}
                </div>
              )}
              {s.kind === "check" && <div className="muted">{s.readDataSubset ? `reads ${s.readDataSubset} of the data` : "structure only"}</div>}
            </td>
            <td className="mono">{s.cron}</td>
            <td data-testid="schedule-next">
              {s.enabled
                ? s.nextRuns.map((t) => (
                    <div key={t.toISOString()}>
                      <Time value={t} />
                    </div>
                  ))
                : "paused"}
            </td>
            <td>{s.lastRunAt ? <Time value={s.lastRunAt} /> : "never"}</td>
            <td>
              <button type="button" className="secondary-neutral" onClick={() => toggle.mutate({ id: s.id, enabled: !s.enabled })}>
                {s.enabled ? "Pause" : "Resume"}
              </button>{" "}
              <button type="button" className="secondary" onClick={() => remove.mutate({ id: s.id })}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NewSchedule({ repositoryId, appendOnly }: { repositoryId: number; appendOnly: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [kind, setKind] = useState<Kind>("backup");
  const [cron, setCron] = useState("0 3 * * *");
  const [qubes, setQubes] = useState("");
  const [subset, setSubset] = useState("5%");
  const [full, setFull] = useState(false);
  const create = useMutation(
    trpc.schedules.create.mutationOptions({ onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.schedules.list.queryKey() }) }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ repositoryId, kind, cron, qubes: kind === "backup" ? splitNames(qubes) : [], fullBackup: kind === "backup" && full, ...(kind === "check" && subset ? { readDataSubset: subset } : {}) });
  };
  return (
    <form onSubmit={submit} className="filters" style={{ marginTop: "1rem" }}>
      <label>
        Task
        <select value={kind} onChange={(e) => setKind(e.target.value as Kind)} data-testid="sched-kind">
          {Object.entries(KIND_TEXT).filter(([k]) => !(appendOnly && k === "retention")).map(([k, t]) => (
            <option key={k} value={k}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        Cron (minute hour day month weekday, UTC)
        <input value={cron} onChange={(e) => setCron(e.target.value)} className="mono" data-testid="sched-cron" />
      </label>
      {kind === "backup" && (
        <label>
          Qubes (empty: default set)
          <input value={qubes} onChange={(e) => setQubes(e.target.value)} data-testid="sched-qubes" />
        </label>
      )}
      {kind === "backup" && (
        <label className="check">
          <input type="checkbox" checked={full} onChange={(e) => setFull(e.target.checked)} data-testid="sched-full" /> Every qube each time (default: only the qubes dom0 finds changed; dom0 still sends all every 30 days)
        </label>
      )}
      {kind === "check" && (
        <label>
          Read data subset
          <input value={subset} onChange={(e) => setSubset(e.target.value)} data-testid="sched-subset" />
        </label>
      )}
      <button type="submit" data-testid="sched-add">
        Add schedule
      </button>
      {create.isError && (
        <p className="error" role="alert" data-testid="sched-error">
          {create.error.message}
        </p>
      )}
    </form>
  );
}

/**
 * The retention policy and the maintenance buttons. For an append-only
 * repository (`elsewhere`: where retention runs instead) neither the policy
 * nor "Apply retention" is offered: the server would refuse the forget.
 */
function Retention({ repositoryId, repository, elsewhere }: { repositoryId: number; repository: string; elsewhere: string | null }) {
  const trpc = useTRPC();
  const current = useQuery(trpc.retention.get.queryOptions({ repositoryId }));
  const [edit, setEdit] = useState<Record<string, string>>({});
  const set = useMutation(trpc.retention.set.mutationOptions({ onSuccess: () => void current.refetch() }));
  const run = useMutation(trpc.maintenance.run.mutationOptions());
  const preview = useMutation(trpc.retention.preview.mutationOptions());
  const rules = ["keepLast", "keepDaily", "keepWeekly", "keepMonthly"] as const;
  if (current.isPending) return <p className="muted">Loading the retention policy…</p>;
  const value = (k: (typeof rules)[number]) => edit[k] ?? String(current.data?.[k] ?? 0);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const n = (k: (typeof rules)[number]) => Number(value(k)) || 0;
    set.mutate({ repositoryId, keepLast: n("keepLast"), keepDaily: n("keepDaily"), keepWeekly: n("keepWeekly"), keepMonthly: n("keepMonthly") });
  };
  return (
    <section className="panel">
      <h2>Retention policy and verification</h2>
      {elsewhere ? (
        <ul className="warnings">
          <li data-testid="ret-append-only">{elsewhere}</li>
        </ul>
      ) : (
      <form onSubmit={submit} className="filters">
        {rules.map((k) => (
          <label key={k}>
            {k.replace("keep", "Keep ").toLowerCase()}
            <input type="number" min={0} value={value(k)} onChange={(e) => setEdit({ ...edit, [k]: e.target.value })} data-testid={`ret-${k}`} style={{ width: "6rem" }} />
          </label>
        ))}
        <button type="submit" data-testid="ret-save">
          Save policy
        </button>
      </form>
      )}
      {set.isError && <p className="error" role="alert">{set.error.message}</p>}
      {set.isSuccess && <p className="ok">Policy saved; it is applied by retention runs.</p>}
      <p>
        Run now:{" "}
        {!elsewhere && (
          <button type="button" className="secondary-neutral" style={{ marginRight: "0.5rem" }} disabled={preview.isPending} onClick={() => (run.reset(), preview.mutate({ repository }))} data-testid="run-retention">
            Apply retention…
          </button>
        )}
        {(["check", "drill"] as const).map((kind) => (
          <button key={kind} type="button" className="secondary-neutral" style={{ marginRight: "0.5rem" }} onClick={() => run.mutate({ repositoryId, kind, ...(kind === "check" ? { readDataSubset: "5%" } : {}) })} data-testid={`run-${kind}`}>
            {kind === "check" ? "Check (5% of data)" : "Restore drill"}
          </button>
        ))}
      </p>
      {preview.isPending && <p className="muted">Reading the repository&apos;s snapshots…</p>}
      {preview.isError && (
        <p className="error" role="alert" data-testid="ret-preview-error">
          {preview.error.message}
        </p>
      )}
      {preview.data && !run.isSuccess && (
        <RetentionPreview
          plan={preview.data}
          onCancel={() => preview.reset()}
          onConfirm={() => run.mutate({ repositoryId, kind: "retention", confirmedForget: preview.data.forgotten }, { onSuccess: () => preview.reset() })}
        />
      )}
      {run.isSuccess && <p className="muted">Started; see the run log below.</p>}
    </section>
  );
}

type Plan = { runs: { run: string; time: Date; dataId: string; keep: boolean }[]; forgotten: string[]; keptRuns: number };

/** What retention would forget, from the engine's listing, and the confirmation before anything is forgotten. */
function RetentionPreview({ plan, onConfirm, onCancel }: { plan: Plan; onConfirm(): void; onCancel(): void }) {
  const n = plan.forgotten.length;
  return (
    <div className="preview" data-testid="ret-preview">
      <p>
        <strong data-testid="ret-preview-summary">
          {n === 0
            ? `Nothing to forget: the policy keeps all ${plan.keptRuns} backup run${plan.keptRuns === 1 ? "" : "s"}.`
            : `This forgets ${n} of ${plan.runs.length} backup runs (their data is pruned) and keeps ${plan.keptRuns}.`}
        </strong>
      </p>
      <ul>
        {plan.runs.map((r) => (
          <li key={r.run} className={r.keep ? undefined : "forget"} data-testid="ret-preview-run" data-verdict={r.keep ? "keep" : "forget"}>
            {r.keep ? "keep" : "forget"} <Time value={r.time} /> <span className="mono">{r.dataId.slice(0, 12)}</span>
          </li>
        ))}
      </ul>
      {n > 0 && (
        <button type="button" className="secondary" onClick={onConfirm} data-testid="ret-confirm">
          Forget {n} backup run{n === 1 ? "" : "s"}
        </button>
      )}{" "}
      <button type="button" className="secondary-neutral" onClick={onCancel} data-testid="ret-cancel">
        {n > 0 ? "Cancel" : "Close"}
      </button>
    </div>
  );
}

type RepoRow = { name: string; webhook: { url: string; method: "POST" | "PUT" | "GET"; lastAt: Date | null; lastError: string | null } | null };

/** The repository's optional webhook: set, remove, and how its last delivery went. */
function Webhook({ repo }: { repo: RepoRow }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [url, setUrl] = useState(repo.webhook?.url ?? "");
  const [method, setMethod] = useState<"POST" | "PUT" | "GET">(repo.webhook?.method ?? "POST");
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.repositories.list.queryKey() });
  const set = useMutation(trpc.webhooks.set.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.webhooks.remove.mutationOptions({ onSuccess: () => (setUrl(""), refresh()) }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    set.mutate({ repository: repo.name, url, method });
  };
  // the last delivery changes when a job ends: follow it while a webhook is set
  const repos = useQuery({ ...trpc.repositories.list.queryOptions(), refetchInterval: repo.webhook ? 2_000 : false });
  const hook = repos.data?.find((r) => r.name === repo.name)?.webhook ?? repo.webhook;
  return (
    <section className="panel" data-testid="webhook">
      <h2>Notifications</h2>
      <p className="muted">
        Optional: a URL told of the end of every backup, restore, check, drill and retention of {repo.name} (a JSON body with the outcome; GET sends none), e.g.
        an ntfy topic or a healthchecks ping, when this qube has a network. Three attempts at most.
      </p>
      <form onSubmit={submit} className="filters">
        <label>
          Webhook URL
          <input value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://ntfy.example/backups" style={{ minWidth: "18rem" }} data-testid="webhook-url" />
        </label>
        <label>
          Method
          <select value={method} onChange={(e) => setMethod(e.target.value as "POST")} data-testid="webhook-method">
            <option>POST</option>
            <option>PUT</option>
            <option>GET</option>
          </select>
        </label>
        <button type="submit" data-testid="webhook-save">
          Save webhook
        </button>
        {hook && (
          <button type="button" className="secondary" onClick={() => remove.mutate({ repository: repo.name })} data-testid="webhook-remove">
            Remove
          </button>
        )}
      </form>
      {set.isError && (
        <p className="error" role="alert" data-testid="webhook-error">
          {set.error.message}
        </p>
      )}
      {hook && (
        <p data-testid="webhook-status" className={hook.lastError ? "error" : "muted"}>
          {hook.lastError ?? (hook.lastAt ? <>Last delivered <Time value={hook.lastAt} />.</> : "Not called yet.")}
        </p>
      )}
    </section>
  );
}

function RunLog() {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.maintenance.runs.queryOptions(), refetchInterval: 2_000 });
  if (!runs.data || runs.data.length === 0) return null;
  return (
    <section className="panel">
      <h2>Run log</h2>
      <table data-testid="runs">
        <tbody>
          {runs.data.map((r) => (
            <tr key={r.id} data-testid="run-row" data-kind={r.kind} data-status={r.status}>
              <td>
                <Time value={r.startedAt} />
              </td>
              <td>{r.repository}</td>
              <td>{r.kind}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>
                {r.message}
                {r.progress && (
                  <p className="muted" data-testid="run-progress">
                    {checkProgressText(r.progress)}
                  </p>
                )}
                {r.log && (
                  <details>
                    <summary>log</summary>
                    <pre className="mono">{r.log}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
