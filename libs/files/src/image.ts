/**
 * Rebuilds a volume image from its inner tar stream (Qubes backup format v4:
 * GNU `tar -Pc --sparse` for file pools, qubesd's tar writer with PAX + GNU
 * sparse 1.0 for lvm_thin; DESIGN.md). GNU tar restores the sparse map as
 * holes, so the file uses only the volume's allocated data. The tar stream
 * was written by qubesd in dom0, not by the qube; the image's content is the
 * qube's and is never parsed here.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { FilesError } from "./errors.ts";
import { collectStderr } from "./bounded.ts";

/** Name of the rebuilt image in its scratch directory. */
export const IMAGE_NAME = "volume.img";

/**
 * Extracts the one member of `inner` as `<dir>/volume.img` (sparse), with
 * back-pressure, memory bounded by the pipe.
 * @param inner the volume's inner tar stream, in order
 * @param dir an empty scratch directory the caller removes
 * @returns the image's path and apparent size (bytes)
 * @throws FilesError when tar fails or the stream holds no regular file
 */
export async function rebuildImage(inner: AsyncIterable<Uint8Array>, dir: string, tarPath = "tar"): Promise<{ path: string; size: number }> {
  // every member gets the one fixed name: nothing in the stream picks a path
  const args = ["-x", "-C", dir, "--no-same-owner", "--no-same-permissions", "--transform", `s,.*,${IMAGE_NAME},`, "--show-transformed-names", "-f", "-"];
  // turbopackIgnore: a spawn with a variable path made the dashboard's build trace the whole project
  const tar = spawn(/*turbopackIgnore: true*/ tarPath, args, { stdio: ["pipe", "ignore", "pipe"] });
  const exited = new Promise<{ code: number | null; error?: Error }>((res) => {
    tar.on("error", (error) => res({ code: null, error }));
    tar.on("close", (code) => res({ code }));
  });
  const stderr = collectStderr(tar.stderr);
  let writeError: Error | undefined;
  tar.stdin.on("error", (e) => (writeError ??= e));
  try {
    for await (const chunk of inner) {
      if (writeError || tar.exitCode !== null) break;
      if (!tar.stdin.write(chunk)) await Promise.race([once(tar.stdin, "drain"), exited]);
    }
  } finally {
    tar.stdin.end();
  }
  const { code, error } = await exited;
  const err = (await stderr).trim().split("\n")[0]?.slice(0, 200);
  if (error) throw new FilesError(`GNU tar cannot start (${error.message}); install the "tar" package.`, "other");
  if (code !== 0) throw new FilesError(`rebuilding the volume image from the snapshot failed (tar: ${err}); check the repository with "qubes-dedup verify".`, "other");
  const p = path.join(dir, IMAGE_NAME);
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new FilesError("the volume's stream in the snapshot holds no image file; check the repository with \"qubes-dedup verify\".", "other");
  return { path: p, size: st.size };
}
