"use client";
import { useEffect, useState, type FormEvent } from "react";

/** Exchanges `token` for the HttpOnly session cookie; resolves to null when signed in, else the reason. */
async function signIn(token: string): Promise<string | null> {
  const r = await fetch("/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (r.ok) return null;
  return ((await r.json().catch(() => ({}))) as { error?: string }).error ?? `sign-in failed (HTTP ${r.status})`;
}

/**
 * The app-menu entry's link (`qubes-dedup-open`) carries the token in the
 * URL's fragment, `#token=<64 hex>`, which browsers never send to a server:
 * it is removed from the address bar (and history) at once and, when
 * `needsToken`, exchanged for the session cookie; then `onSignedIn`.
 */
export function useLinkToken(needsToken: boolean, onSignedIn: () => void): void {
  useEffect(() => {
    const m = /^#token=([0-9a-f]{64})$/.exec(window.location.hash);
    if (!m) return;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    if (needsToken) void signIn(m[1]!).then((error) => error === null && onSignedIn(), () => undefined);
  }, [needsToken, onSignedIn]);
}

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
      const problem = await signIn(token);
      if (problem === null) onSignedIn();
      else setError(problem);
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
