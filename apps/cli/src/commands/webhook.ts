/**
 * `qubes-dedup webhook set|off|show`: the repository's optional webhook,
 * told of every job's outcome (see libs/service webhook.ts).
 */
import type { Command } from "commander";
import { getRepository, setWebhook, webhookView, WEBHOOK_METHODS, type WebhookMethod } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { UsageError, mistakes } from "../usage.ts";

export function registerWebhook(program: Command): void {
  const group = program.command("webhook").usage("set|off|show").summary("the repository's webhook, told of every job's outcome").description("the repository's webhook, told of every job's outcome");
  const set = group
    .command("set")
    .usage("<url> [--repo NAME] [--method POST|PUT|GET]")
    .description("call <url> at the end of every backup, restore, check, drill and retention (JSON body with the outcome)")
    .argument("<url>", "http:// or https:// URL")
    .option("--method <method>", `${WEBHOOK_METHODS.join(", ")} (GET sends no body)`, "POST")
    .action(async (url: string, o: { method: string }, c: Command) => {
      const method = o.method.toUpperCase();
      if (!(WEBHOOK_METHODS as readonly string[]).includes(method)) throw new UsageError(`--method is one of ${WEBHOOK_METHODS.join(", ")}, not "${o.method}"`);
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        await setWebhook(db, repo, { url, method: method as WebhookMethod });
        process.stderr.write(`qubes-dedup: the webhook of "${repo}" is set (${method})\n`);
      });
    });
  mistakes(set, { "commander.missingArgument": "webhook set takes one <url>", "commander.excessArguments": "webhook set takes one <url>" });
  const off = group
    .command("off")
    .usage("[--repo NAME]")
    .description("remove the webhook")
    .action(async (_o: unknown, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        await setWebhook(db, repo, null);
        process.stderr.write(`qubes-dedup: the webhook of "${repo}" is removed\n`);
      });
    });
  mistakes(off, { "commander.excessArguments": "webhook off takes no arguments" });
  const show = group
    .command("show")
    .usage("[--repo NAME] [--json]")
    .description("the webhook and how its last delivery went")
    .option("--json", "one JSON object on stdout (null when none is set)")
    .action(async (o: { json?: boolean }, c: Command) => {
      const { repo, db: dbPath } = globals(c);
      await withDb(dbPath, async (db) => {
        const v = webhookView(await getRepository(db, repo));
        if (o.json) process.stdout.write(`${JSON.stringify(v)}\n`);
        else if (!v) process.stdout.write(`repository "${repo}" has no webhook\n`);
        else process.stdout.write(`${v.method} ${v.url}\n${v.lastAt ? (v.lastError ?? `last delivered ${v.lastAt.toISOString()}`) : "not called yet"}\n`);
      });
    });
  mistakes(show, { "commander.excessArguments": "webhook show takes no arguments" });
}
