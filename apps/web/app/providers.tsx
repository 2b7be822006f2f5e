"use client";
import { useState, type ReactNode } from "react";
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "../src/server/router.ts";
import { TRPCProvider } from "../src/client/trpc.ts";
import { TokenForm } from "../src/client/TokenForm.tsx";

function unauthorized(e: unknown): boolean {
  return e instanceof TRPCClientError && (e.data as { code?: string } | undefined)?.code === "UNAUTHORIZED";
}

/**
 * TanStack Query + tRPC for every page; data refreshes every 5 s. Any call
 * answered 401 replaces the page by the token form until the user signs in.
 */
export function Providers({ children }: { children: ReactNode }) {
  const [needsToken, setNeedsToken] = useState(false);
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
  const signedIn = () => {
    setNeedsToken(false);
    void queryClient.resetQueries();
  };
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {needsToken ? <TokenForm onSignedIn={signedIn} /> : children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
