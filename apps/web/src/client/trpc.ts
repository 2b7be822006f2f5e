"use client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import type { AppRouter } from "../server/api/root.ts";

/** tRPC bindings for TanStack Query: wrap the app in TRPCProvider, read with useTRPC(). */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
