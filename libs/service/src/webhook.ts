/**
 * The optional webhook of a repository (ntfy / healthchecks-style services,
 * when the backup qube has a network): told of each job's outcome with one
 * HTTP request carrying a JSON body. Delivery is bounded (a few attempts,
 * each with a timeout) and never fails the job; the last failure is kept on
 * the repository and shown on the dashboard.
 */
import { z } from "zod";
import type { Database } from "@qubes-dedup/db";
import { ServiceError } from "./errors.ts";
import { getRepository } from "./repositories.ts";

/** HTTP methods a webhook may use; GET sends no body (healthchecks-style pings). */
export const WEBHOOK_METHODS = ["POST", "PUT", "GET"] as const;
export type WebhookMethod = (typeof WEBHOOK_METHODS)[number];

/** A webhook as set by the user: an http(s) URL (at most 2048 characters) and a method. */
export const webhookInput = z.object({
  url: z
    .string()
    .trim()
    .max(2048)
    .refine((u) => URL.canParse(u) && ["http:", "https:"].includes(new URL(u).protocol), "give an http:// or https:// URL"),
  method: z.enum(WEBHOOK_METHODS).default("POST"),
});
export type WebhookInput = z.input<typeof webhookInput>;

/** What a webhook is told: the JSON body of POST/PUT. Times are ISO 8601 strings (UTC). */
export interface JobOutcome {
  repository: string;
  /** "backup" | "restore" | "verify-only restore" | "check" | "drill" | "retention" */
  kind: string;
  /** "succeeded" | "failed" | "refused" */
  status: string;
  /** One sentence: the summary, or the cause and the fix. */
  message: string;
  snapshot: string | null;
  startedAt: string;
  finishedAt: string;
}

/** How delivery retries: the waits (ms) before the 2nd, 3rd, … attempt, and each attempt's timeout (ms). */
export interface DeliveryOptions {
  retryDelaysMs?: number[];
  timeoutMs?: number;
}

/** Three attempts in all, each given 5 s: a dead service holds a job's end up for about 18 s at most. */
const DEFAULT_DELIVERY: Required<DeliveryOptions> = { retryDelaysMs: [1000, 2000], timeoutMs: 5000 };

/** A repository's webhook and how its last delivery went; null when none is set. */
export interface WebhookView {
  url: string;
  method: WebhookMethod;
  lastAt: Date | null;
  /** One sentence when the last delivery failed, else null. */
  lastError: string | null;
}

/** The webhook fields of a repository row as a view (null when no URL is set). */
export function webhookView(r: { webhookUrl: string | null; webhookMethod: string | null; webhookLastAt: Date | null; webhookLastError: string | null }): WebhookView | null {
  if (!r.webhookUrl) return null;
  return { url: r.webhookUrl, method: (r.webhookMethod ?? "POST") as WebhookMethod, lastAt: r.webhookLastAt, lastError: r.webhookLastError };
}

/**
 * Sets (or with `null` removes) the webhook of a registered repository.
 * @throws ServiceError for an unknown repository or a URL/method that is not allowed.
 */
export async function setWebhook(db: Database, repository: string, input: WebhookInput | null): Promise<WebhookView | null> {
  const repo = await getRepository(db, repository);
  if (input === null) {
    await db.prisma.repository.update({ where: { id: repo.id }, data: { webhookUrl: null, webhookMethod: null, webhookLastAt: null, webhookLastError: null } });
    return null;
  }
  const parsed = webhookInput.safeParse(input);
  if (!parsed.success) throw new ServiceError(`the webhook is not usable (${parsed.error.issues.map((i) => i.message).join("; ")}): give an http:// or https:// URL and POST, PUT or GET.`);
  const row = await db.prisma.repository.update({
    where: { id: repo.id },
    data: { webhookUrl: parsed.data.url, webhookMethod: parsed.data.method, webhookLastAt: null, webhookLastError: null },
  });
  return webhookView(row);
}

/** The URL without user info or query (which may carry a token), for messages. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** One attempt: null when delivered (2xx), else why not and whether another attempt may help. */
async function attempt(url: string, method: WebhookMethod, body: string, timeoutMs: number): Promise<{ why: string; retry: boolean } | null> {
  try {
    const r = await fetch(url, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
      ...(method === "GET" ? {} : { body, headers: { "content-type": "application/json" } }),
    });
    await r.body?.cancel();
    if (r.ok) return null;
    return { why: `answered ${r.status}${r.statusText ? ` ${r.statusText}` : ""}`, retry: r.status >= 500 || r.status === 429 };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string; errors?: { code?: string }[] } };
    if (err.name === "TimeoutError") return { why: `did not answer within ${timeoutMs / 1000} s`, retry: true };
    // undici's cause: a system error, or an AggregateError of one per address tried
    const code = err.cause?.code ?? err.cause?.errors?.find((x) => x.code)?.code;
    return { why: `could not be reached (${code ?? err.cause?.message ?? err.message})`, retry: true };
  }
}

/**
 * Tells the repository's webhook (if any) of `outcome`: up to
 * 1 + retryDelaysMs.length attempts, stopping at the first 2xx or at an
 * answer that retrying cannot change (4xx but 429). Records when it was
 * called and the failure, if it failed. Never throws.
 * @returns null when delivered or no webhook is set, else the failure sentence.
 */
export async function notifyWebhook(db: Database, repositoryId: number, outcome: JobOutcome, opts: DeliveryOptions = {}): Promise<string | null> {
  const { retryDelaysMs, timeoutMs } = { ...DEFAULT_DELIVERY, ...opts };
  try {
    const repo = await db.prisma.repository.findUnique({ where: { id: repositoryId } });
    const hook = repo && webhookView(repo);
    if (!hook) return null;
    const body = JSON.stringify(outcome);
    let tries = 0;
    let last: { why: string; retry: boolean } | null = null;
    for (;;) {
      tries++;
      last = await attempt(hook.url, hook.method, body, timeoutMs);
      if (!last || !last.retry || tries > retryDelaysMs.length) break;
      await new Promise((r) => setTimeout(r, retryDelaysMs[tries - 1]));
    }
    const error = last
      ? `The webhook ${shown(hook.url)} ${last.why} (${tries} attempt${tries === 1 ? "" : "s"}) when told that a ${outcome.kind} ${outcome.status}: check the URL and the service, or remove the webhook.`
      : null;
    await db.prisma.repository.update({ where: { id: repositoryId }, data: { webhookLastAt: new Date(), webhookLastError: error } });
    return error;
  } catch (e) {
    // the index db itself failed: the job's own recording reports that
    return `the webhook could not be called (${(e as Error).message.split("\n")[0]}).`;
  }
}
