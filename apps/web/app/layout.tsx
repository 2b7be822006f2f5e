import type { ReactNode } from "react";
import type { Metadata } from "next";
import { cookies } from "next/headers";
import { Providers } from "./providers.tsx";
import { TopBar } from "../src/client/TopBar.tsx";
import { SESSION_COOKIE } from "../src/server/auth.ts";
import { readOrCreateToken, tokenFile, tokenMatches } from "@qubes-dedup/service";
import "./globals.css";

export const metadata: Metadata = {
  title: "qubes-dedup",
  description: "Deduplicated Qubes OS backups: repositories and snapshots",
};

// The sign-in state is decided per request from the session cookie.
export const dynamic = "force-dynamic";

/**
 * True when the browser's session cookie holds the current token. Decided on
 * the server so that a signed-out visitor's first paint is the token form,
 * not a "Loading…" that waits for a 401 from the API.
 */
async function signedIn(): Promise<boolean> {
  const presented = (await cookies()).get(SESSION_COOKIE)?.value ?? null;
  return tokenMatches(readOrCreateToken(tokenFile()), presented);
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const ok = await signedIn();
  return (
    <html lang="en">
      <body>
        <TopBar signedIn={ok} />
        <main>
          <Providers signedIn={ok}>{children}</Providers>
        </main>
      </body>
    </html>
  );
}
