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
import { PassThrough, Readable } from "node:stream";
import { FilesError } from "./errors.ts";
import { drainBounded, MAX_STDERR } from "./bounded.ts";
import { encodeRequest, REQUEST_MAGIC, type FsRequest } from "./request.ts";
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
      const body = Readable.from(call.stdout);
      const head = await Promise.race([readHead(body), failed]);
      const errBytes = await readExactly(body, head.stderr);
      const rest = new PassThrough();
      body.pipe(rest);
      const out = await drainBounded(rest, Math.min(opts.maxBytes, head.stdout), opts.output, () => call.kill("SIGKILL"));
      if (out.bytes !== head.stdout) throw new FilesError(`the disposable qube sent ${out.bytes} of the ${head.stdout} bytes it announced; try again.`, "sandbox");
      return { ...out, stderr: errBytes.toString("utf8") };
    } finally {
      clearTimeout(timer);
      call.kill("SIGKILL");
      tar.kill("SIGKILL");
    }
  }
}

async function readHead(body: Readable): Promise<{ stderr: number; stdout: number }> {
  const line = await readLine(body);
  const m = new RegExp(`^${REQUEST_MAGIC.replace("/", "\\/")} (\\d{1,16}) (\\d{1,16})$`).exec(line);
  if (!m || Number(m[1]) > MAX_STDERR) throw new FilesError("the disposable qube answered something other than a qubes-dedup-files/1 reply; reinstall qubes-dedup in its template.", "sandbox");
  return { stderr: Number(m[1]), stdout: Number(m[2]) };
}

async function readLine(body: Readable): Promise<string> {
  let line = "";
  while (line.length <= MAX_HEAD) {
    const b = await readExactly(body, 1);
    if (b.length === 0 || b[0] === 0x0a) return line;
    line += String.fromCharCode(b[0]!);
  }
  return line;
}

/** Reads exactly n bytes (fewer at the end of the stream). */
async function readExactly(body: Readable, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    const chunk = body.read(Math.min(n - got, body.readableLength || n - got)) as Buffer | null;
    if (chunk) {
      parts.push(chunk);
      got += chunk.length;
      continue;
    }
    if (body.readableEnded) break;
    await new Promise((res) => body.once("readable", res).once("end", res));
  }
  return Buffer.concat(parts);
}
