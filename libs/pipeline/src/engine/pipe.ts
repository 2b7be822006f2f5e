import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";

/**
 * Bytes of buffer asked for an engine's pipes: one restic blob (512 KiB
 * to 8 MiB, ~1 MiB on average) or borg chunk fits, up to Linux's default
 * limit for unprivileged processes (/proc/sys/fs/pipe-max-size, 1 MiB).
 */
export const ENGINE_PIPE_BYTES = 1 << 20;

/** fcntl F_SETPIPE_SZ (Linux, fcntl(2)). */
const F_SETPIPE_SZ = 1031;

/** One end of an engine's stdin or stdout: the child's, and ours. */
export interface EnginePipe<T extends Readable | Writable> {
  /** the child's end: a FIFO's, or "pipe" (Node's socketpair) when no FIFO could be made */
  readonly childFd: number | "pipe";
  /** our end's descriptor (a FIFO's), undefined when childFd is "pipe"; valid until ours() wraps it */
  readonly ourFd: number | undefined;
  /**
   * Call right after spawning: drops our copy of the child's end (so that the
   * engine's exit is our end of file, or makes our writes fail with EPIPE)
   * and returns our end.
   * @param spawned the child's stdin/stdout as spawn returned it (used when childFd is "pipe")
   */
  ours(spawned: T | null | undefined): T;
  /** settles true once the buffer is ENGINE_PIPE_BYTES, false when it could not be resized (engines need not wait) */
  readonly resized: Promise<boolean>;
  /**
   * Starts the engine with the child's end (`start` spawns it); if `start`
   * throws (an unreadable password file, say), both ends are closed first.
   */
  spawnWith<S>(start: (childFd: number | "pipe") => S): S;
}

/**
 * A pipe with a 1 MiB buffer for an engine's stdout.
 *
 * Why: restic 0.14's dump and borg 1.2's extract load a chunk, write it, and
 * only then load the next. Node gives a child's stdio a socketpair (~200 KiB,
 * not resizable from JavaScript), so every chunk write blocks until we have
 * read most of it, and loading and writing take turns. A FIFO resized with
 * F_SETPIPE_SZ takes a whole chunk, and the engine goes on loading while we
 * read. Measured on a 605 MB data file, restic dump into a reader: 2.7 s
 * through a 64 KiB pipe, 2.2 s through a 1 MiB one, 2.05 s into /dev/null.
 *
 * Node cannot call fcntl, so python3 (present in every Qubes template) does it
 * through an inherited descriptor, at the same time as the engine starts up
 * (restic and borg need ≥ 0.3 s before their first write). Without python3 or
 * mkfifo the pipe keeps its default size: only speed suffers.
 */
export function outputPipe(): EnginePipe<Readable> {
  return enginePipe("output") as EnginePipe<Readable>;
}

/**
 * The same for an engine's stdin (restic backup --stdin, borg create -): both
 * read stdin in pieces no larger than the buffer in front of them, so with
 * 1 MiB the engine and we stop waking each other every ~200 KiB. Measured on a
 * 1228 MiB stream, our restic ingest: 7.2-7.5 s -> 6.8 s.
 */
export function inputPipe(): EnginePipe<Writable> {
  return enginePipe("input") as EnginePipe<Writable>;
}

function enginePipe(childEnd: "output" | "input"): EnginePipe<Readable | Writable> {
  const fifo = makeFifo(childEnd);
  if (!fifo) return { childFd: "pipe", ourFd: undefined, ours: (s) => s!, resized: Promise.resolve(false), spawnWith: (start) => start("pipe") };
  const { childFd, ourFd } = fifo;
  return {
    childFd,
    ourFd,
    resized: resize(childEnd === "output" ? childFd : ourFd),
    spawnWith(start) {
      try {
        return start(childFd);
      } catch (e) {
        fs.closeSync(childFd);
        fs.closeSync(ourFd);
        throw e;
      }
    },
    ours() {
      fs.closeSync(childFd);
      return new net.Socket({ fd: ourFd, readable: childEnd === "output", writable: childEnd === "input" });
    },
  };
}

/**
 * Opens a fresh FIFO's two ends and removes its name at once, so nothing is
 * left behind whatever happens next. The child's end is a blocking file
 * description of its own (engines do plain blocking I/O; libuv makes ours
 * non-blocking). A first O_RDWR open lets both opens return at once (fifo(7)).
 * @param childEnd "output": the child writes, we read; "input": the reverse
 */
function makeFifo(childEnd: "output" | "input"): { childFd: number; ourFd: number } | undefined {
  let dir: string | undefined;
  const opened: number[] = [];
  const open = (name: string, flags: number) => {
    opened.push(fs.openSync(name, flags));
    return opened[opened.length - 1]!;
  };
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "qubes-dedup-pipe-"));
    const name = path.join(dir, "fifo");
    if (spawnSync("mkfifo", ["-m", "600", name], { stdio: "ignore" }).status !== 0) return undefined;
    const { O_RDWR, O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;
    const both = open(name, O_RDWR);
    const childFd = open(name, childEnd === "output" ? O_WRONLY : O_RDONLY);
    const ourFd = open(name, (childEnd === "output" ? O_RDONLY : O_WRONLY) | O_NONBLOCK);
    fs.closeSync(both);
    return { childFd, ourFd };
  } catch {
    for (const fd of opened) fs.closeSync(fd);
    return undefined;
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The system's python3 (not a wrapper on PATH, such as pyenv's, which is slower to start). */
const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/**
 * Resizes the pipe behind `writeFd` in a python3 child. The child gets the
 * write end, as fd 3: nothing it or a wrapper around it reads can take bytes
 * from the stream. Settles true when it did.
 */
function resize(writeFd: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ["-c", `import fcntl; fcntl.fcntl(3, ${F_SETPIPE_SZ}, ${ENGINE_PIPE_BYTES})`], { stdio: ["ignore", "ignore", "ignore", writeFd] });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
    child.unref();
  });
}
