import { PassThrough, Readable } from "node:stream";
import { authenticate } from "../../../src/server/auth.ts";
import { volumeInput } from "../../../src/server/api/routers/files.ts";
import { browseVolume, escapeName, FilesError, processDatabase, readOrCreateToken, tokenFile } from "@qubes-dedup/service";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function fail(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { "content-type": "application/json" } });
}

/** An attachment name a browser will not act on: the escaped name, quotes and slashes dropped. */
function attachmentName(name: string, tar: boolean): string {
  const safe = escapeName(name).replace(/["/\\;]/g, "_").slice(0, 200) || "download";
  return tar ? `${safe}.tar` : safe;
}

/**
 * Download of a file, or a directory as tar, from a qube's volume in a
 * snapshot: GET /api/files?snapshotId=N&qube=Q&volume=private&path=/a/b.
 * Needs the session token; errors before the first byte are JSON with one sentence.
 */
export async function GET(req: Request): Promise<Response> {
  if (!authenticate(req, readOrCreateToken(tokenFile())).authorized) return fail(401, 'Sign in first: run "qubes-dedup web-token" in the backup qube and paste what it prints.');
  const q = new URL(req.url).searchParams;
  const input = volumeInput.safeParse({ snapshotId: Number(q.get("snapshotId")), qube: q.get("qube") ?? "", volume: q.get("volume") ?? undefined });
  const path = q.get("path") ?? "";
  if (!input.success || path === "") return fail(400, "Give snapshotId, qube, volume (private or root) and path.");
  try {
    const v = await browseVolume(await processDatabase(), input.data.snapshotId, input.data.qube, input.data.volume);
    const r = await v.browser.checkDownload(path);
    const out = new PassThrough();
    const done = v.browser.download(path, out);
    // a failure after the first byte can only cut the response short
    done.then(() => out.end(), (e: Error) => out.destroy(e));
    const name = attachmentName(r.names.at(-1) ?? "root", r.kind === "dir");
    const headers: Record<string, string> = { "content-type": r.kind === "dir" ? "application/x-tar" : "application/octet-stream", "content-disposition": `attachment; filename="${name}"`, "x-content-type-options": "nosniff" };
    if (r.kind === "file") headers["content-length"] = String(r.size ?? 0);
    return new Response(Readable.toWeb(out) as ReadableStream, { status: 200, headers });
  } catch (e) {
    const code = e instanceof FilesError ? { "not-found": 404, "too-large": 413 }[e.code as string] ?? 422 : 400;
    return fail(code, (e as Error).message);
  }
}
