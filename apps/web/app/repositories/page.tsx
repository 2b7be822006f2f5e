"use client";
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../../src/client/trpc.ts";
import { Bytes } from "../../src/client/bits.tsx";

const EXAMPLES = {
  restic: "/var/lib/qubes-dedup/restic, rest:http://nas.lan:8000/qubes/, sftp:user@host:/srv/restic, s3:s3.amazonaws.com/bucket",
  borg: "/var/lib/qubes-dedup/borg, ssh://user@host:22/srv/borg",
} as const;

/** Repositories: the registered ones (test connection) and a form to add one (test, then add + initialise). */
export default function RepositoriesPage() {
  const trpc = useTRPC();
  const repos = useQuery(trpc.repositories.list.queryOptions());
  const check = useMutation(trpc.repositories.check.mutationOptions());
  return (
    <>
      <section className="panel">
        <h1>Repositories</h1>
        {repos.isPending ? (
          <p className="muted">Loading…</p>
        ) : repos.isError ? (
          <p className="error">Cannot reach the dashboard API: {repos.error.message}</p>
        ) : repos.data.length === 0 ? (
          <p className="empty">No repository yet: add one below.</p>
        ) : (
          <table data-testid="repositories">
            <thead>
              <tr>
                <th>Name</th>
                <th>Engine</th>
                <th>Location</th>
                <th className="num">Snapshots</th>
                <th className="num">Size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {repos.data.map((r) => (
                <tr key={r.id} data-testid="repository-row" data-name={r.name}>
                  <td>{r.name}</td>
                  <td>{r.engine}</td>
                  <td className="mono">
                    {r.location}{" "}
                    {r.machine && (
                      <span className="badge" title="this machine's snapshots only" data-testid="repository-machine">
                        machine {r.machine}
                      </span>
                    )}{" "}
                    {r.appendOnly && (
                      <span className="badge" title={r.retentionElsewhere ?? undefined} data-testid="repository-append-only">
                        append-only
                      </span>
                    )}
                  </td>
                  <td className="num">{r.snapshotCount}</td>
                  <td className="num">
                    <Bytes value={r.repositoryBytes} />
                  </td>
                  <td>
                    <button type="button" onClick={() => check.mutate({ id: r.id })} disabled={check.isPending} data-testid="repository-check">
                      Test connection
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {check.data && (
          <p className={check.data.ok ? "ok" : "error"} data-testid="repository-check-result">
            {check.data.message}
          </p>
        )}
        {check.isError && <p className="error">{check.error.message}</p>}
      </section>
      <AddRepository />
    </>
  );
}

function AddRepository() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const [engine, setEngine] = useState<"restic" | "borg">("restic");
  const [location, setLocation] = useState("");
  const [password, setPassword] = useState("");
  const [caCert, setCaCert] = useState("");
  const [appendOnly, setAppendOnly] = useState(false);
  const [machine, setMachine] = useState("");
  const input = { name, engine, location, password, ...(engine === "restic" && caCert.trim() ? { caCert } : {}), ...(appendOnly ? { appendOnly } : {}), ...(machine.trim() ? { machine: machine.trim() } : {}) };
  const test = useMutation(trpc.repositories.test.mutationOptions());
  const add = useMutation(
    trpc.repositories.add.mutationOptions({
      onSuccess: () => {
        // a fresh form: pressing "Add" again must not try to add the same repository twice
        for (const clear of [setName, setLocation, setPassword, setCaCert, setMachine]) clear("");
        setAppendOnly(false);
        test.reset();
        void qc.invalidateQueries({ queryKey: trpc.repositories.list.queryKey() });
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate(input);
  };
  return (
    <section className="panel">
      <h2>Add a repository</h2>
      <form onSubmit={submit} className="stack">
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="default" data-testid="add-name" />
        </label>
        <label>
          Engine{" "}
          <select value={engine} onChange={(e) => setEngine(e.target.value as "restic" | "borg")} data-testid="add-engine">
            <option value="restic">restic</option>
            <option value="borg">borg</option>
          </select>
        </label>
        <label>
          Location <input size={60} value={location} onChange={(e) => setLocation(e.target.value)} data-testid="add-location" />
        </label>
        <p className="muted">e.g. {EXAMPLES[engine]}</p>
        {engine === "restic" && (
          <label>
            CA certificate of the server (PEM; for a TLS REST server with a self-signed or private certificate, else empty){" "}
            <textarea rows={4} cols={64} className="mono" value={caCert} onChange={(e) => setCaCert(e.target.value)} placeholder="-----BEGIN CERTIFICATE-----" data-testid="add-cacert" />
          </label>
        )}
        <label>
          <input type="checkbox" checked={appendOnly} onChange={(e) => setAppendOnly(e.target.checked)} data-testid="add-append-only" /> The server keeps this repository append-only
          {engine === "borg" ? " (borg serve --append-only in its authorized_keys)" : " (a rest-server --append-only is detected when added)"}: retention then runs on the server
        </label>
        <label>
          Machine name (only when several machines back up into this repository; each lists, keeps and cleans up only its own snapshots){" "}
          <input value={machine} onChange={(e) => setMachine(e.target.value)} placeholder="e.g. laptop" data-testid="add-machine" />
        </label>
        <label>
          Repository password{" "}
          <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="add-password" />
        </label>
        <p className="muted">Stored in a file only the service user can read; it is never shown again. Write it down: without it the repository cannot be read.</p>
        <div>
          <button type="button" className="secondary-neutral" onClick={() => test.mutate(input)} disabled={test.isPending} data-testid="add-test">
            Test connection
          </button>{" "}
          <button type="submit" disabled={add.isPending} data-testid="add-submit">
            {add.isPending ? "Adding…" : "Add and initialise"}
          </button>
        </div>
        {test.data && (
          <p className={test.data.ok ? "ok" : "error"} data-testid="add-test-result">
            {test.data.message}
          </p>
        )}
        {test.isError && <p className="error" data-testid="add-test-result">{test.error.message}</p>}
        {add.isError && <p className="error" role="alert" data-testid="add-error">{add.error.message}</p>}
        {add.isSuccess && (
          <p className="ok" data-testid="add-done">
            Repository {add.data.name} added{add.data.appendOnly ? " (append-only: retention runs on the server)" : ""}{add.data.machine ? ` for machine ${add.data.machine}` : ""}.
          </p>
        )}
      </form>
    </section>
  );
}
