import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../rest-server.ts";

/** Debian's sshd (openssh-server). */
const SSHD = "/usr/sbin/sshd";

/** Why there is no sshd to test with (a skip reason), or undefined when there is one. */
export function sshdMissing(): string | undefined {
  return fs.existsSync(SSHD) ? undefined : `${SSHD} is not installed: apt-get install openssh-server`;
}

/** A running test sshd on 127.0.0.1 that lets one key run one forced command. */
export interface TestSshd {
  port: number;
  user: string;
  /** an ssh command line with the client key and the server's host key (for BORG_RSH) */
  rsh: string;
  /** `ssh://user@127.0.0.1:PORT<absPath>` */
  location(absPath: string): string;
  /** SIGKILL to the server and every session under it (a crash, a power cut), then waits for their exit */
  stop(): Promise<void>;
  /** starts it again on the same port and keys */
  restart(): Promise<void>;
  /** SIGSTOP to the server and its sessions: a server that stops answering; SIGCONT undoes it */
  freeze(): void;
  thaw(): void;
}

/** Pids below `pid` (children, theirs, …), from /proc/<pid>/task/<tid>/children. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids = "";
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8");
    } catch {
      continue;
    }
    for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) out.push(k, ...descendants(k));
  }
  return out;
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // gone
    }
  }
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/**
 * Test support: starts `sshd -D` on 127.0.0.1 and a free port with its own
 * host key, config and authorized_keys in `dir`, where one new client key may
 * only run `forcedCommand` (`command="…",restrict`, as a server's
 * administrator sets up `borg serve --append-only --restrict-to-path …`), as
 * the current user. As root, sshd needs its privilege separation directory
 * /run/sshd (made here when missing, as openssh-server's unit does).
 * @throws Error when ssh-keygen fails or sshd exits or never listens
 */
export async function startSshd(dir: string, forcedCommand: string): Promise<TestSshd> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (n: string) => path.join(dir, n);
  for (const k of ["host_key", "client_key"]) {
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", f(k)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  }
  const port = await freePort();
  const user = os.userInfo().username;
  fs.writeFileSync(f("authorized_keys"), `command="${forcedCommand.replace(/"/g, '\\"')}",restrict ${fs.readFileSync(f("client_key.pub"), "utf8").trim()}\n`, { mode: 0o600 });
  fs.writeFileSync(f("known_hosts"), `[127.0.0.1]:${port} ${fs.readFileSync(f("host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
  fs.writeFileSync(
    f("sshd_config"),
    [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${f("host_key")}`, `AuthorizedKeysFile ${f("authorized_keys")}`, `PidFile ${f("sshd.pid")}`,
      "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password", `AllowUsers ${user}`, "LogLevel ERROR", ""].join("\n"),
  );
  if (process.getuid?.() === 0 && !fs.existsSync("/run/sshd")) fs.mkdirSync("/run/sshd", { mode: 0o755 });
  let child: ChildProcess;
  const start = async () => {
    child = spawn(SSHD, ["-D", "-e", "-f", f("sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
    for (let i = 0; !(await listening(port)); i++) {
      if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${stderr.trim()}`);
      if (i > 200) throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  const tree = () => (child.pid ? [child.pid, ...descendants(child.pid)] : []);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const pids = tree();
    const exited = new Promise((r) => child.once("exit", r));
    signalAll(pids, "SIGCONT");
    signalAll(pids, "SIGKILL");
    await exited;
    for (let i = 0; i < 100 && pids.some((p) => fs.existsSync(`/proc/${p}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${p}/status`))); i++) await new Promise((r) => setTimeout(r, 50));
  };
  const rsh = `ssh -i ${f("client_key")} -o UserKnownHostsFile=${f("known_hosts")} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes`;
  return {
    port, user, rsh,
    location: (absPath) => `ssh://${user}@127.0.0.1:${port}${absPath}`,
    stop,
    restart: async () => (await stop(), await start()),
    freeze: () => signalAll(tree(), "SIGSTOP"),
    thaw: () => signalAll(tree(), "SIGCONT"),
  };
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
