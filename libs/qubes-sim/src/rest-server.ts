import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

/**
 * Test support: a TCP port free on 127.0.0.1 right now (the kernel picks
 * one; another process may still take it before the caller binds it).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A real restic REST backend: Debian's `rclone serve restic` on loopback. */
export interface RestServer {
  /** the backend's URL, e.g. http://127.0.0.1:40123/ (a restic location is `rest:` + url) */
  url: string;
  port: number;
  /** kills the server (SIGKILL, as a crashed server would go) and waits for its exit */
  stop(): Promise<void>;
}

/**
 * Test support: starts `rclone serve restic` over `dir` on `port` (a fresh
 * free one by default) and waits until it answers (up to ~10 s).
 * @throws Error when rclone exits or never answers
 */
export async function startRest(dir: string, port?: number): Promise<RestServer> {
  const p = port ?? (await freePort());
  const child: ChildProcess = spawn("rclone", ["serve", "restic", "--addr", `127.0.0.1:${p}`, dir], { stdio: "ignore" });
  const url = `http://127.0.0.1:${p}/`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`rclone serve restic exited with ${child.exitCode}`);
    try {
      await fetch(url);
      break;
    } catch {
      if (i > 200) throw new Error(`rclone serve restic did not answer on ${url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  };
  return { url, port: p, stop };
}
