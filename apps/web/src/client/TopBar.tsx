"use client";

async function signOut() {
  await fetch("/api/session", { method: "DELETE" });
  window.location.href = "/";
}

/** Site header: brand, navigation, and "Sign out" when `signedIn` (the session cookie holds the current token). */
export function TopBar({ signedIn }: { signedIn: boolean }) {
  return (
    <header className="top">
      <a className="brand" href="/">
        qubes-dedup
      </a>
      <nav>
        <a href="/">Overview</a>
        <a href="/qubes">Qubes</a>
        <a href="/snapshots">Snapshots</a>
        <a href="/backup">Back up now</a>
        <a href="/restore">Restore</a>
        <a href="/schedules">Schedules</a>
        <a href="/repositories">Repositories</a>
      </nav>
      {signedIn && (
        <button className="link" onClick={() => void signOut()}>
          Sign out
        </button>
      )}
    </header>
  );
}
