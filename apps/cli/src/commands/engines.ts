/** `qubes-dedup engines`: the restic and borg versions this backup qube runs. */
import type { Command } from "commander";
import { engineStatus, type EngineStatus } from "@qubes-dedup/service";
import { globals, withDb } from "../context.ts";
import { mistakes } from "../usage.ts";

/** One line per engine: `restic  0.18.0  /usr/bin/restic  (repositories: default)`. */
export function engineLines(engines: EngineStatus[]): string {
  return engines
    .map((e) => {
      const used = e.usedBy.length ? `repositories: ${e.usedBy.join(", ")}` : "no repository uses it";
      return e.version ? `${e.kind.padEnd(8)}${e.version.padEnd(9)}${e.binary}  (${used})\n` : `${e.kind.padEnd(8)}${"missing".padEnd(9)}${e.problem} (${used})\n`;
    })
    .join("");
}

export function registerEngines(program: Command): void {
  const cmd = program
    .command("engines")
    .usage("[--json]")
    .description("show the restic and borg versions in use (exit 1 when a registered repository's engine is missing)")
    .option("--json", "one JSON array on stdout")
    .action(async (o: { json?: boolean }, c: Command) => {
      await withDb(globals(c).db, async (db) => {
        const engines = await engineStatus(db);
        process.stdout.write(o.json ? `${JSON.stringify(engines)}\n` : engineLines(engines));
        if (engines.some((e) => e.blocking)) process.exitCode = 1;
      });
    });
  mistakes(cmd, { "commander.excessArguments": "engines takes no arguments" });
}
