"use client";
import { useState, type FormEvent } from "react";

/** Asks for the session token and exchanges it for the HttpOnly session cookie. */
export function TokenForm({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await fetch("/api/session", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token }),
      });
      if (r.ok) onSignedIn();
      else setError(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `sign-in failed (HTTP ${r.status})`);
    } catch (err) {
      setError(`cannot reach the dashboard server: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel login" data-testid="token-form">
      <h1>Session token needed</h1>
      <p>
        This dashboard only answers holders of its session token. In this backup qube run{" "}
        <code>qubes-dedup web-token</code> and paste what it prints.
      </p>
      <form onSubmit={submit}>
        <input
          type="password"
          autoComplete="off"
          aria-label="Session token"
          placeholder="64 hex characters"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
      </form>
      {error && (
        <p className="error" role="alert" data-testid="token-error">
          {error}
        </p>
      )}
    </section>
  );
}
