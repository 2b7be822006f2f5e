import type { ReactNode } from "react";
import type { Metadata } from "next";
import { Providers } from "./providers.tsx";
import { TopBar } from "../src/client/TopBar.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: "qubes-dedup",
  description: "Deduplicated Qubes OS backups: repositories and snapshots",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TopBar />
        <main>
          <Providers>{children}</Providers>
        </main>
      </body>
    </html>
  );
}
