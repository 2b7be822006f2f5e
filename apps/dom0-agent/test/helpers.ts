import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const AGENT = path.resolve(HERE, "../dist/qubes-dedup-agent.mjs");
export const SHIM = path.resolve(HERE, "../../../libs/shim/dist/scrypt");
export const PASS = `qubes-dedup-v1-${"ab".repeat(32)}`;

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the bundled agent. */
export function agent(args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync("node", [AGENT, ...args], { env, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A directory with stand-ins for qvm-backup and qvm-backup-restore that
 * record their argv (NUL-separated) and which `scrypt` PATH finds, print a
 * progress line on stderr and exit with $STANDIN_EXIT (default 0); and for
 * zenity (dom0's dialog), recording its argv, and notify-send (`notifications()`).
 */
export function standIns(): { bin: string; recorded: (name: string) => { argv: string[]; scrypt: string }; notifications: () => string[][] } {
  const bin = tmpDir("standin");
  // dom0's confirmation dialog: records its argv, answers $ZENITY_EXIT (0 yes, 1 no; default yes).
  fs.writeFileSync(path.join(bin, "zenity"), `#!/bin/sh\nprintf '%s\\0' "$@" > "${bin}/zenity.argv"\nexit "\${ZENITY_EXIT:-0}"\n`, { mode: 0o755 });
  // dom0's desktop notifications: one NUL-separated argv per line.
  fs.writeFileSync(path.join(bin, "notify-send"), `#!/bin/sh\nprintf '%s\\0' "$@" >> "${bin}/notify-send.calls"\necho >> "${bin}/notify-send.calls"\n`, { mode: 0o755 });
  for (const name of ["qvm-backup", "qvm-backup-restore"]) {
    fs.writeFileSync(
      path.join(bin, name),
      `#!/bin/sh
printf '%s\\0' "$@" > "${bin}/${name}.argv"
command -v scrypt > "${bin}/${name}.scrypt"
printf '\\rMaking a backup... 50.00%%' >&2
exit "\${STANDIN_EXIT:-0}"
`,
      { mode: 0o755 },
    );
  }
  return {
    bin,
    recorded: (name) => ({
      argv: fs.readFileSync(path.join(bin, `${name}.argv`), "utf8").split("\0").slice(0, -1),
      scrypt: fs.readFileSync(path.join(bin, `${name}.scrypt`), "utf8").trim(),
    }),
    notifications: () => {
      const f = path.join(bin, "notify-send.calls");
      if (!fs.existsSync(f)) return [];
      return fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => l.split("\0").slice(0, -1));
    },
  };
}

/** A scratch root with a passphrase file (0600) at the default place. */
export function rootWithPassphrase(pass = PASS): string {
  const root = tmpDir("root");
  fs.mkdirSync(path.join(root, "etc/qubes-dedup"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/qubes-dedup/passphrase"), `${pass}\n`, { mode: 0o600 });
  return root;
}

export { tree } from "@qubes-dedup/qubes-sim/testing";

/** What `doctor --root <root>` prints when every check passes there (qubesd is never checked under --root). */
export function allOkDoctor(root: string): string {
  return [
    `ok    real scrypt: ${root}/usr/bin/scrypt (scrypt 1.3.1)`,
    `ok    shim installed: ${root}/usr/lib/qubes-dedup/bin/scrypt, up to date`,
    `ok    qubesd drop-in: ${root}/etc/systemd/system/qubesd.service.d/30-qubes-dedup.conf puts /usr/lib/qubes-dedup/bin first on PATH`,
    "skip  running qubesd: not checked under --root",
    `ok    passphrase file: ${root}/etc/qubes-dedup/passphrase, root-only`,
    `ok    qrexec policy: ${root}/etc/qubes/policy.d/30-qubes-dedup.policy`,
    "",
  ].join("\n");
}

