/// <reference path="./shell-quote.d.ts" />
/**
 * How the backup qube's `qubes.Backup` / `qubes.Restore` services interpret
 * the location line (QubesOS/qubes-core-agent-linux qubes-rpc): a directory
 * (backup) or file (restore), else shell words whose first word must be a
 * command on PATH.
 */
import fs from "node:fs";
import path from "node:path";
import { parse } from "shell-quote";
import { SimError } from "./errors.ts";

/** Where `cmd` resolves through `PATH`, or undefined (like `command -v`). */
export function findOnPath(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  const ok = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) return ok(cmd) ? path.resolve(cmd) : undefined;
  for (const dir of (env.PATH ?? "").split(":")) {
    const p = path.join(dir || ".", cmd);
    if (ok(p)) return p;
  }
  return undefined;
}

/**
 * Splits a location line into shell words (quotes respected, no expansion).
 * @throws SimError on shell operators such as `|`, `;` or redirections.
 */
export function locationWords(location: string): string[] {
  const words: string[] = [];
  for (const w of parse(location)) {
    if (typeof w === "string") words.push(w);
    else if ("op" in w && w.op === "glob") words.push(w.pattern ?? "");
    else throw new SimError(`The location "${location}" contains shell operators; give one command with its arguments.`);
  }
  return words;
}

/**
 * Resolves a location command the way qubes.Backup / qubes.Restore do.
 * @returns the argv with argv[0] resolved through PATH.
 * @throws SimError when the line is empty or its first word is no command on PATH.
 */
export function resolveLocationCommand(location: string, env: NodeJS.ProcessEnv): string[] {
  const words = locationWords(location);
  const cmd = words[0];
  const resolved = cmd ? findOnPath(cmd, env) : undefined;
  if (!cmd || !resolved) {
    throw new SimError(`Invalid command in backup location "${location}": "${cmd ?? ""}" is not a command on PATH; give an existing directory or a command.`);
  }
  return [resolved, ...words.slice(1)];
}
