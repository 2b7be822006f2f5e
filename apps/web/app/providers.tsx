"use client";
import { useCallback, useState, type ReactNode } from "react";
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "../src/server/api/root.ts";
import { TRPCProvider } from "../src/client/trpc.ts";
import { TokenForm, useLinkToken } from "../src/client/TokenForm.tsx";

function unauthorized(e: unknown): boolean {
  return e instanceof TRPCClientError && (e.data as { code?: string } | undefined)?.code === "UNAUTHORIZED";
}

/**
 * TanStack Query + tRPC for every page; data refreshes every 5 s. Without a
 * valid session (`signedIn`, decided by the server from the cookie) or once
 * any call is answered 401, the page is the token form until the user signs in.
 */
export function Providers({ children, signedIn }: { children: ReactNode; signedIn: boolean }) {
  const [needsToken, setNeedsToken] = useState(!signedIn);
  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: (e) => unauthorized(e) && setNeedsToken(true) }),
        defaultOptions: {
          queries: { staleTime: 2_000, refetchInterval: 5_000, retry: (n, e) => !unauthorized(e) && n < 1 },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: "/api/trpc", transformer: superjson })] }),
  );
  // A full reload so that the server renders the page (and the top bar) signed in.
  const onSignedIn = useCallback(() => window.location.reload(), []);
  useLinkToken(needsToken, onSignedIn);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {needsToken ? <TokenForm onSignedIn={onSignedIn} /> : children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
