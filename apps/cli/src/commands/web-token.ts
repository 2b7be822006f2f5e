/** `qubes-dedup web-token [--rotate]`: print or replace the dashboard's session token. */
import type { Command } from "commander";
import { readOrCreateToken, rotateToken, tokenFile } from "@qubes-dedup/service";
import { globals } from "../context.ts";
import { mistakes } from "../usage.ts";

export function registerWebToken(program: Command): void {
  const cmd = program
    .command("web-token")
    .usage("[--rotate]")
    .description("print the dashboard's session token (--rotate: replace it)")
    .option("--rotate", "replace the token; open browsers must sign in again")
    .action((o: { rotate?: boolean }, c: Command) => {
      const file = tokenFile(globals(c).db);
      const token = o.rotate ? rotateToken(file) : readOrCreateToken(file);
      process.stdout.write(`${token}\n`);
      if (o.rotate) process.stderr.write("qubes-dedup: the dashboard token was replaced; open browsers must sign in again\n");
    });
  mistakes(cmd, { "commander.excessArguments": "web-token takes no arguments" });
}
