/**
 * One retrieval of files from the backup, as `qvm-backup-restore` makes it
 * through `qubes.Restore` (QubesOS/qubes-core-agent-linux): the location is
 * a file, or a command whose stdout carries the stream; `tar2qfile` passes
 * on the regular files whose names start with one of the filters and stops
 * reading (closing the pipe) at the first non-matching file once every
 * filter has matched; dom0's unpacker writes them into a temp dir.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { SimError } from "../errors.ts";
import { resolveLocationCommand } from "../location.ts";
import { OuterTarReader } from "./outer-tar.ts";

/** Options of {@link retrieve}. */
export interface RetrieveOptions {
  location: string;
  /** Name prefixes to pass on; empty = everything. */
  filters: string[];
  /** Where retrieved files are written (by their archive names). */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Called after each file is complete, before the next one is read. */
  onFile: (name: string) => Promise<void>;
  /** Largest total size of retrieved files (bytes); 0 = no limit. */
  maxBytes?: number;
}

/** What happened in one retrieval. */
export interface RetrieveResult {
  /** Names retrieved, in stream order. */
  files: string[];
  /** True when reading stopped before the end of the stream. */
  cutOff: boolean;
}

function safeName(name: string): boolean {
  return name !== "" && !path.isAbsolute(name) && !name.split("/").some((p) => p === ".." || p === "");
}

/**
 * The filter a name falls under: an exact name, or a directory (`vm3/`,
 * `dom0-home`) containing it. Real `tar2qfile` compares plain prefixes, so
 * there `backup-header` also claims `backup-header.hmac` and the header
 * retrieval never sees its second filter match; the simulator stops as the
 * restore tool intends (DESIGN.md: each run is cut off once its files passed).
 */
export function matchFilter(filters: string[], name: string): string | undefined {
  return (
    filters.find((f) => f === name) ??
    filters.find((f) => f !== "" && (f.endsWith("/") ? name.startsWith(f) : name.startsWith(`${f}/`)))
  );
}

async function writeEntry(reader: OuterTarReader, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // "wx": an existing file is never overwritten by the backup qube's data.
  const fd = fs.openSync(file, "wx");
  try {
    await reader.body((piece) => {
      fs.writeSync(fd, piece);
    });
  } finally {
    fs.closeSync(fd);
  }
}

async function readStream(input: Readable, opts: RetrieveOptions): Promise<RetrieveResult> {
  const reader = new OuterTarReader(input);
  const matched = new Set<string>();
  const files: string[] = [];
  let total = 0;
  for (;;) {
    const e = await reader.next();
    if (!e) return { files, cutOff: false };
    const hit = opts.filters.length === 0 ? "" : matchFilter(opts.filters, e.name);
    if (hit === undefined) {
      if (opts.filters.length > 0 && matched.size === opts.filters.length) return { files, cutOff: true };
      await reader.skip();
      continue;
    }
    matched.add(hit);
    if (!safeName(e.name)) throw new SimError(`The backup contains an unsafe file name "${e.name}"; the backup qube may be compromised.`);
    total += e.size;
    if (opts.maxBytes && total > opts.maxBytes) {
      throw new SimError(`The retrieved backup data exceeds the expected ${opts.maxBytes} bytes at ${e.name}; the backup is damaged or not a Qubes backup.`);
    }
    await writeEntry(reader, path.join(opts.dir, e.name));
    files.push(e.name);
    await opts.onFile(e.name);
  }
}

/**
 * Runs one retrieval.
 * @throws SimError when the location is neither a file nor a command, the
 *   stream is malformed, or the command fails before the end of a stream
 *   that was read to its end.
 */
export async function retrieve(opts: RetrieveOptions): Promise<RetrieveResult> {
  if (fs.existsSync(opts.location) && fs.statSync(opts.location).isFile()) {
    const input = fs.createReadStream(opts.location);
    try {
      return await readStream(input, opts);
    } finally {
      input.destroy();
    }
  }
  const argv = resolveLocationCommand(opts.location, opts.env);
  const child = spawn(argv[0]!, argv.slice(1), { env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 1024) stderr += d.toString();
  });
  const exit = new Promise<number | string>((resolve) => {
    child.on("error", (e) => resolve(e.message));
    child.on("close", (code, signal) => resolve(code ?? `signal ${signal}`));
  });
  let result: RetrieveResult;
  try {
    result = await readStream(child.stdout!, opts);
  } finally {
    // Closing our end is how qubes.Restore stops a command early (EPIPE).
    child.stdout!.destroy();
  }
  const code = await exit;
  if (!result.cutOff && code !== 0) {
    throw new SimError(`The backup location command exited with ${code}${stderr.trim() ? ` (${stderr.trim().slice(0, 300)})` : ""}; check the command and its repository.`);
  }
  return result;
}
