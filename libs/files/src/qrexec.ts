/**
 * The Qubes runner: each request goes to `qubes-dedup.ReadFilesystem` in a
 * new disposable qube (`qrexec-client-vm @dispvm …`, allowed by the policy
 * in packaging/dom0), so the untrusted filesystem is parsed there, never in
 * the backup qube. Wire form (docs/FILES.md): we send the request line
 * (request.ts), then the image as a GNU sparse tar of `volume.img` (holes
 * are not sent); the service answers `qubes-dedup-files/1 <stderr bytes>
 * <stdout bytes>\n`, debugfs's stderr, then its stdout. Untested here: the
 * simulator has no disposable qubes, it uses BwrapTransport.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { Readable } from "node:stream";
import { FilesError } from "./errors.ts";
import { drainBounded, MAX_STDERR } from "./bounded.ts";
import { encodeRequest, type FsRequest } from "./request.ts";
import type { FsTransport, RunOptions, RunResult } from "./transport.ts";

/** The qrexec service in the disposable qube (packaging/template/qubes-rpc). */
export const FS_SERVICE = "qubes-dedup.ReadFilesystem";

/** Longest answer header accepted (bytes). */
const MAX_HEAD = 128;

export class QrexecTransport implements FsTransport {
  readonly name = "disposable qube";
  constructor(
    private readonly client = "/usr/bin/qrexec-client-vm",
    private readonly target = "@dispvm",
  ) {}

  async run(image: string, req: FsRequest, opts: RunOptions): Promise<RunResult> {
    const call = spawn(this.client, [this.target, FS_SERVICE], { stdio: ["pipe", "pipe", "ignore"] });
    const tar = spawn("tar", ["--sparse", "-c", "-f", "-", "-C", path.dirname(image), path.basename(image)], { stdio: ["ignore", "pipe", "ignore"] });
    const timer = setTimeout(() => (call.kill("SIGKILL"), tar.kill("SIGKILL")), opts.timeoutSeconds * 1000);
    const failed = new Promise<never>((_, rej) => call.on("error", (e) => rej(new FilesError(`the disposable qube cannot start: ${this.client} failed (${e.message}); run this in the backup qube with qubes-core-agent installed.`, "sandbox"))));
    failed.catch(() => {});
    call.stdin.on("error", () => {});
    call.stdin.write(encodeRequest(req));
    tar.stdout.pipe(call.stdin);
    try {
      const it = (call.stdout as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      let buf = Buffer.alloc(0);
      /** reads until `enough(buf)` or the end of the answer */
      const fill = async (enough: () => boolean) => {
        while (!enough()) {
          const r = await Promise.race([it.next(), failed]);
          if (r.done) return;
          buf = Buffer.concat([buf, r.value]);
        }
      };
      await fill(() => buf.includes(0x0a) || buf.length > MAX_HEAD);
      const nl = buf.indexOf(0x0a);
      const head = parseHead(nl < 0 ? "" : buf.toString("latin1", 0, nl));
      await fill(() => buf.length >= nl + 1 + head.stderr);
      const stderr = buf.subarray(nl + 1, nl + 1 + head.stderr).toString("utf8");
      const rest = buf.subarray(nl + 1 + head.stderr);
      const body = Readable.from((async function* () {
        if (rest.length > 0) yield rest;
        for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      })());
      const out = await drainBounded(body, Math.min(opts.maxBytes, head.stdout), opts.output, () => call.kill("SIGKILL"));
      if (out.bytes !== head.stdout) throw new FilesError(`the disposable qube sent ${out.bytes} of the ${head.stdout} bytes it announced; try again.`, "sandbox");
      return { ...out, stderr };
    } finally {
      clearTimeout(timer);
      call.kill("SIGKILL");
      tar.kill("SIGKILL");
    }
  }
}

/** The answer's first line: `qubes-dedup-files/1 <stderr bytes> <stdout bytes>`. */
function parseHead(line: string): { stderr: number; stdout: number } {
  const m = /^qubes-dedup-files\/1 (\d{1,16}) (\d{1,16})$/.exec(line);
  if (!m || Number(m[1]) > MAX_STDERR) throw new FilesError("the disposable qube answered something other than a qubes-dedup-files/1 reply; reinstall qubes-dedup in its template.", "sandbox");
  return { stderr: Number(m[1]), stdout: Number(m[2]) };
}
