import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AGENT, rootWithPassphrase, standIns } from "./helpers.ts";

interface Call {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `rpc <kind>` as qrexec would: request on stdin, caller in QREXEC_REMOTE_DOMAIN. */
function rpc(kind: string, request: string | Buffer, env: NodeJS.ProcessEnv, extra: string[] = []): Call {
  const r = spawnSync("node", [AGENT, "rpc", kind, ...extra], { env, input: request, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function dom0(caller = "backup") {
  const root = rootWithPassphrase();
  const s = standIns();
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${s.bin}:${process.env.PATH}`, QUBES_DEDUP_AGENT_ROOT: root, QREXEC_REMOTE_DOMAIN: caller };
  delete env.QREXEC_SERVICE_ARGUMENT;
  const ran = (name: string) => fs.existsSync(path.join(s.bin, `${name}.argv`));
  return { root, s, env, ran };
}

describe("rpc backup", () => {
  it("runs qvm-backup from fixed words for the backup qube and streams progress, then ok", () => {
    const d = dom0();
    const r = rpc("backup", '{"repo":"main","qubes":["work","vault"],"exclude":["sys-net"]}\n', d.env);
    // A stand-in runs no shim, so the reply says that nothing reached dom0's ledger.
    expect(r).toEqual({
      status: 0,
      stderr: "",
      stdout: "progress 0.00\nprogress 50.00\nprogress 100.00\nok backup of work, vault sent to backup (repository main); warning: the backup is stored but not in dom0's ledger: the shim recorded nothing for it (check that the shim is installed for qubesd: `qubes-dedup-agent doctor`); its restores will not be checked for completeness.\n",
    });
    expect(d.s.recorded("qvm-backup").argv).toEqual([
      "--yes", "--no-compress", "--passphrase-file", path.join(d.root, "etc/qubes-dedup/passphrase"), "--dest-vm", "backup",
      "--exclude", "sys-net", "qubes-dedup ingest --repo main", "work", "vault",
    ]);
  });

  it("mirrors a failing qvm-backup's exit status with one error line", () => {
    const d = dom0();
    const r = rpc("backup", "{}", { ...d.env, STANDIN_EXIT: "4" });
    expect(r.status).toBe(4);
    expect(r.stdout.split("\n").slice(-2)).toEqual(["error qvm-backup failed (exit 4)", ""]);
  });

  it.each([
    ['{"qubes":["work; reboot"]}', 'error: qube "work; reboot" is not a valid qube name'],
    ['{"qubes":["work"]}\n{"qubes":["vault"]}\n', "error: the request has more than one line; send exactly one JSON line."],
    ['{"location":"sh -c id"}', 'error: the request has unknown key(s) "location"'],
    [`{"repo":"main"${" ".repeat(5000)}}`, "error: the request is longer than 4096 bytes"],
    ["", "error: the request is empty"],
  ])("refuses %j with one line, exit 2, nothing run", (req, text) => {
    const d = dom0();
    const r = rpc("backup", req, d.env);
    expect(r.status).toBe(2);
    expect(r.stdout.startsWith(text)).toBe(true);
    expect(r.stdout.split("\n")).toHaveLength(2);
    expect(d.ran("qvm-backup")).toBe(false);
  });

  it("refuses callers other than the configured backup qube, calls outside qrexec and service arguments", () => {
    const d = dom0("work");
    expect(rpc("backup", "{}", d.env).stdout).toBe('error: qube "work" is not the backup qube "backup"; only the configured backup qube may request backups and restores.\n');
    const none = { ...d.env };
    delete none.QREXEC_REMOTE_DOMAIN;
    expect(rpc("backup", "{}", none).stdout).toMatch(/^error: this handler runs only as a qrexec service/);
    expect(rpc("backup", "{}", { ...d.env, QREXEC_REMOTE_DOMAIN: "backup", QREXEC_SERVICE_ARGUMENT: "x" }).stdout).toMatch(/^error: these services take no argument/);
    fs.writeFileSync(path.join(d.root, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "work" }));
    expect(rpc("backup", "{}", d.env).status).toBe(0);
    expect(d.s.recorded("qvm-backup").argv).toContain("work");
  });

  it("reports a dom0-side problem as a failure before running anything", () => {
    const d = dom0();
    fs.writeFileSync(path.join(d.root, "etc/qubes-dedup/passphrase"), "hunter2\n");
    const r = rpc("backup", "{}", d.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^error the passphrase file .* does not hold a qubes-dedup passphrase/);
    expect(d.ran("qvm-backup")).toBe(false);
  });

  it("stops qvm-backup when the caller goes away", async () => {
    const d = dom0();
    const pidFile = path.join(d.s.bin, "sleeper.pid");
    fs.writeFileSync(path.join(d.s.bin, "qvm-backup"), `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 600\n`, { mode: 0o755 });
    const child = spawn("node", [AGENT, "rpc", "backup"], { env: d.env, stdio: ["pipe", "pipe", "inherit"] });
    child.stdin.end("{}\n");
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (b: Buffer) => resolve(b.toString())));
    expect(first).toBe("progress 0.00\n");
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    expect(code).toBe(1);
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe("rpc restore", () => {
  it("runs qvm-backup-restore with -d the backup qube and the requested options", () => {
    const d = dom0();
    fs.writeFileSync(path.join(d.s.bin, "qvm-backup-restore"), `#!/bin/sh\nprintf '%s\\0' "$@" > "${d.s.bin}/qvm-backup-restore.argv"\necho '-> Restored work: private.img (4096 bytes)'\necho '-> Skipping vault: a qube with that name already exists.'\necho '-> Done.'\n`, { mode: 0o755 });
    const r = rpc("restore", '{"snapshot":"0a1b2c3d","qubes":["work","vault"],"verifyOnly":false,"conflicts":"skip","repo":"main"}', d.env);
    expect(r).toEqual({
      status: 0,
      stderr: "",
      stdout: "progress 0.00\nprogress 100.00\nok restored 1 qube(s): work from snapshot 0a1b2c3d; skipped existing vault; warning: dom0's ledger records no backup yet, so this restore cannot be checked for completeness or for an older backup served in place of the newest\n",
    });
    // dom0 asked first, with what its ledger knows (nothing yet), not with the request's words.
    expect(fs.readFileSync(path.join(d.s.bin, "zenity.argv"), "utf8").split("\0").slice(0, -1)).toEqual([
      "--question",
      "--title=qubes-dedup: restore",
      "--no-wrap",
      "--text=Restore work, vault from a backup dom0 has no record of, from snapshot 0a1b2c3d of repository main?\nWarning: dom0's ledger records no backup yet, so this restore cannot be checked for completeness or for an older backup served in place of the newest.",
    ]);
    const declined = rpc("restore", '{"snapshot":"0a1b2c3d"}', { ...d.env, ZENITY_EXIT: "1" });
    expect(declined).toEqual({ status: 2, stderr: "", stdout: "error: the restore was declined in dom0's confirmation dialog; nothing was restored.\n" });
    expect(fs.readFileSync(path.join(d.s.bin, "qvm-backup-restore.argv"), "utf8").split("\0").slice(0, -1)).toEqual([
      "-d", "backup", "-p", path.join(d.root, "etc/qubes-dedup/passphrase"), "--skip-conflicting", "qubes-dedup dump --repo main 0a1b2c3d --qubes work,vault", "work", "vault",
    ]);
  });

  it("refuses path traversal and option injection in the snapshot id", () => {
    const d = dom0();
    for (const snap of ["../../etc/shadow", "--verify-only", "0a1b2c3d dump"]) {
      const r = rpc("restore", JSON.stringify({ snapshot: snap }), d.env);
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/^error: snapshot .* is not valid/);
    }
    expect(d.ran("qvm-backup-restore")).toBe(false);
  });
});

describe("rpc and policy command lines", () => {
  it("usage errors exit 2 with the usage text", () => {
    for (const args of [["rpc"], ["rpc", "frob"], ["rpc", "backup", "extra"], ["rpc", "backup", "--frob"], ["policy"], ["policy", "frob"]]) {
      const r = spawnSync("node", [AGENT, ...args], { encoding: "utf8", input: "" });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("usage: qubes-dedup-agent rpc backup|restore");
      expect(r.stderr, args.join(" ")).not.toContain("as in '--");
    }
    const bad = spawnSync("node", [AGENT, "policy", "status", "--frob"], { encoding: "utf8" });
    expect(bad.stderr.split("\n")[0]).toBe("qubes-dedup-agent: policy has no option --frob; see the usage below.");
  });

  it("policy install writes the policy for the configured backup qube and the service files; doctor sees it; uninstall removes all", () => {
    const root = rootWithPassphrase();
    fs.writeFileSync(path.join(root, "etc/qubes-dedup/agent.json"), JSON.stringify({ destVm: "vault-backup" }));
    const run = (args: string[]) => spawnSync("node", [AGENT, ...args, "--root", root], { encoding: "utf8" });
    expect(run(["policy", "status"]).status).toBe(1);
    expect(run(["policy", "install"]).stdout).toBe(
      `wrote ${root}/etc/qubes/policy.d/30-qubes-dedup.policy\nwrote ${root}/etc/qubes-rpc/qubes.DedupBackup\nwrote ${root}/etc/qubes-rpc/qubes.DedupRestore\n`,
    );
    const file = path.join(root, "etc/qubes/policy.d/30-qubes-dedup.policy");
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(fs.readFileSync(file, "utf8")).toContain("qubes.DedupRestore   *         vault-backup   dom0      ask\n");
    const service = path.join(root, "etc/qubes-rpc/qubes.DedupRestore");
    expect(fs.statSync(service).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(service, "utf8")).toBe(`#!/bin/sh\n# qubes.DedupRestore: installed by \`qubes-dedup-agent policy install\`.\nexec '${process.execPath}' '${AGENT}' rpc restore\n`);
    // The installed service file is what qrexec runs: it answers as the handler.
    const viaService = spawnSync(service, [], { input: "{}", encoding: "utf8", env: { ...process.env, QUBES_DEDUP_AGENT_ROOT: root, QREXEC_REMOTE_DOMAIN: "work" } });
    expect(viaService.stdout).toBe('error: qube "work" is not the backup qube "vault-backup"; only the configured backup qube may request backups and restores.\n');
    expect(run(["policy", "install"]).stdout).toBe("nothing to change: the qrexec policy and services are up to date\n");
    expect(run(["policy", "status"])).toMatchObject({ status: 0 });
    fs.appendFileSync(file, "# backups set to allow by the user\n");
    const st = run(["policy", "status"]);
    expect(st.status).toBe(0);
    expect(st.stdout).toContain(`changed: ${root}/etc/qubes/policy.d/30-qubes-dedup.policy (edited by hand`);
    expect(run(["doctor"]).stdout).toContain(`ok    qrexec policy: ${root}/etc/qubes/policy.d/30-qubes-dedup.policy\n`);
    expect(run(["policy", "uninstall"]).stdout).toBe(
      `removed ${root}/etc/qubes/policy.d/30-qubes-dedup.policy\nremoved ${root}/etc/qubes-rpc/qubes.DedupBackup\nremoved ${root}/etc/qubes-rpc/qubes.DedupRestore\n`,
    );
    const none = run(["policy", "status"]);
    expect(none.stdout).toContain(`run \`qubes-dedup-agent policy install --root ${root}\`\n`);
    expect(fs.existsSync(file)).toBe(false);
    expect(run(["policy", "uninstall"]).stdout).toBe("nothing to remove: the qrexec policy and services are not installed\n");
  });
});
