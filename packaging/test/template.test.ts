/**
 * The backup-qube packages. The .deb (tools/package/template-deb.sh): its file list,
 * modes and owners as `dpkg -c` shows them, the dashboard's systemd user
 * unit under `systemd-analyze verify`, then an install with `dpkg -i` on
 * this machine, the installed /usr/bin/qubes-dedup under Node 20 and Node 22
 * (tools/node22.sh) against a scratch home, and `dpkg -r`, which must remove
 * every file. Needs root, dpkg and the Debian packages the .deb depends on
 * (nodejs >= 20.19, restic, python3).
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { tmpDir, tree } from "@qubes-dedup/qubes-sim/testing";

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const VERSION = (JSON.parse(fs.readFileSync(path.join(WORKSPACE, "package.json"), "utf8")) as { version: string }).version;
const DEB = path.join(WORKSPACE, `dist/packages/qubes-dedup_${VERSION}_all.deb`);
const RPM = path.join(WORKSPACE, `dist/packages/qubes-dedup-${VERSION}-1.noarch.rpm`);
const UNIT = "/usr/lib/systemd/user/qubes-dedup-web.service";

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: WORKSPACE, env });
  if (r.error) throw new Error(`${cmd} cannot run (${r.error.message})`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, env);
  expect(r.status, `${cmd} ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** `dpkg -c` as {mode, owner, file, link}; file without the leading ".", directories without the trailing "/". */
function contents(): { mode: string; owner: string; file: string; link?: string }[] {
  return ok("dpkg-deb", ["-c", DEB])
    .trim()
    .split("\n")
    .map((l) => {
      const [mode, owner, , , , file, arrow, link] = l.trim().split(/\s+/);
      return { mode: mode!, owner: owner!, file: file!.replace(/^\./, "").replace(/(.)\/$/, "$1"), link: arrow === "->" ? link : undefined };
    });
}

/**
 * The demo (simulated dom0, real restic) with the backup qube's side being
 * the installed /usr/bin/qubes-dedup, found by qubes.Backup / qubes.Restore
 * on a PATH without the checkout; then the installed dashboard, started as
 * its systemd unit would start it, serves the demo's index over tRPC.
 */
async function demoAgainstInstalled(): Promise<void> {
  const work = tmpDir("qdd-deb-demo-");
  const env = { ...process.env, PATH: "/usr/local/bin:/usr/bin:/bin", HOME: work };
  // Asynchronously: a run of a minute blocking the worker times out vitest's RPC.
  const { stdout: out } = await promisify(execFile)(
    "node",
    ["apps/demo/dist/qubes-dedup-demo.mjs", "--small", "--json", "--workdir", work, "--installed-cli", "/usr/bin/qubes-dedup"],
    { cwd: WORKSPACE, env, maxBuffer: 64 << 20 },
  );
  const summary = JSON.parse(out.trim().split("\n").at(-1)!) as { restoredIdentical: boolean; snapshots: number };
  expect(summary).toMatchObject({ restoredIdentical: true, snapshots: 2 });
  const db = path.join(work, "backup-qube/index.db");
  const port = 20000 + (process.pid % 20000);
  const webEnv = { ...env, QUBES_DEDUP_DB: db, QUBES_DEDUP_WEB_PORT: String(port) };
  const token = ok("/usr/bin/qubes-dedup", ["web-token"], webEnv).trim();
  const server = spawn("/usr/lib/qubes-dedup/qubes-dedup-web", [], { env: webEnv, stdio: "ignore" });
  try {
    const base = `http://127.0.0.1:${port}`;
    let page: Response | undefined;
    for (let i = 0; i < 120 && !page; i++) {
      page = await fetch(`${base}/`).catch(() => undefined);
      if (!page) await new Promise((r) => setTimeout(r, 500));
    }
    expect(page?.status).toBe(200);
    const auth = { authorization: `Bearer ${token}` };
    const repos = (await (await fetch(`${base}/api/trpc/repositories.list`, { headers: auth })).json()) as { result: { data: { json: { id: number; name: string }[] } } };
    const repo = repos.result.data.json.find((r) => r.name === "default")!;
    const input = encodeURIComponent(JSON.stringify({ json: { repositoryId: repo.id } }));
    const snaps = (await (await fetch(`${base}/api/trpc/snapshots.list?input=${input}`, { headers: auth })).json()) as { result: { data: { json: unknown[] } } };
    expect(snaps.result.data.json).toHaveLength(2);
    expect((await fetch(`${base}/api/trpc/repositories.list`)).status).toBe(401);
  } finally {
    server.kill("SIGTERM");
  }
}

describe("the backup-qube .deb", () => {
  beforeAll(async () => {
    // Builds what is stale (the CLI was bundled by the test target's build).
    // Asynchronously: a next build blocking the worker for minutes times out vitest's RPC.
    await promisify(execFile)("bash", ["tools/package/template-deb.sh"], { cwd: WORKSPACE, maxBuffer: 64 << 20 });
    // The demo's own build (and the dom0 side it drives) is done by nx
    // before this project's tests (implicitDependencies in package.json).
  }, 600_000);

  it("holds the CLI, the dashboard, the unit, the menu entry and the shim, root-owned, nothing writable by others, no test or dev files", () => {
    const entries = contents();
    const top = entries.filter((e) => !/^\/usr\/lib\/qubes-dedup\/(web|node_modules)\//.test(e.file)).map((e) => `${e.mode} ${e.file}`);
    expect(top).toEqual([
      "drwxr-xr-x /",
      "drwxr-xr-x /etc",
      "drwxr-xr-x /etc/profile.d",
      "-rw-r--r-- /etc/profile.d/qubes-dedup.sh",
      "drwxr-xr-x /etc/qubes-rpc",
      "-rwxr-xr-x /etc/qubes-rpc/qubes-dedup.ReadFilesystem",
      "drwxr-xr-x /usr",
      "drwxr-xr-x /usr/bin",
      "-rwxr-xr-x /usr/bin/qubes-dedup",
      "drwxr-xr-x /usr/lib",
      "drwxr-xr-x /usr/lib/qubes-dedup",
      "drwxr-xr-x /usr/lib/qubes-dedup/bin",
      "-rwxr-xr-x /usr/lib/qubes-dedup/bin/scrypt",
      "-rw-r--r-- /usr/lib/qubes-dedup/env.sh",
      "drwxr-xr-x /usr/lib/qubes-dedup/node_modules",
      "-rwxr-xr-x /usr/lib/qubes-dedup/qubes-dedup-open",
      "-rwxr-xr-x /usr/lib/qubes-dedup/qubes-dedup-web",
      "-rwxr-xr-x /usr/lib/qubes-dedup/qubes-dedup.mjs",
      "drwxr-xr-x /usr/lib/qubes-dedup/web",
      "drwxr-xr-x /usr/lib/systemd",
      "drwxr-xr-x /usr/lib/systemd/user",
      "-rw-r--r-- /usr/lib/systemd/user/qubes-dedup-web.service",
      "drwxr-xr-x /usr/share",
      "drwxr-xr-x /usr/share/applications",
      "-rw-r--r-- /usr/share/applications/qubes-dedup.desktop",
      "drwxr-xr-x /usr/share/doc",
      "drwxr-xr-x /usr/share/doc/qubes-dedup",
      "-rw-r--r-- /usr/share/doc/qubes-dedup/INSTALL-QUBES.md",
    ]);
    const files = new Set(entries.map((e) => e.file));
    // The runtime packages beside the CLI bundle (the N-API driver and its glibc binary), the standalone server and its static assets.
    for (const f of [
      "/usr/lib/qubes-dedup/node_modules/libsql/package.json",
      "/usr/lib/qubes-dedup/node_modules/@libsql/linux-x64-gnu/index.node",
      "/usr/lib/qubes-dedup/web/apps/web/server.js",
      "/usr/lib/qubes-dedup/web/node_modules/next/package.json",
    ])
      expect(files, f).toContain(f);
    expect(entries.some((e) => e.file.startsWith("/usr/lib/qubes-dedup/web/apps/web/.next/static/"))).toBe(true);
    for (const e of entries) {
      expect(`${e.file} ${e.owner}`).toBe(`${e.file} root/root`);
      if (!e.mode.startsWith("l")) expect(e.mode[8], `${e.file} is writable by others`).toBe("-");
      // Symlinks stay inside the package's tree.
      if (e.link) expect(path.resolve(path.dirname(e.file), e.link), e.file).toMatch(/^\/usr\/lib\/qubes-dedup\//);
      expect(e.file).not.toMatch(/\.(map|ts|tsx|mts|cts)$|\/(test|tests|__tests__)(\/|$)|-musl(\/|$)/);
    }
    const control = ok("dpkg-deb", ["-f", DEB, "Depends", "Recommends", "Architecture"]);
    expect(control).toBe("Depends: nodejs (>= 20.19), restic, python3, e2fsprogs\nRecommends: borgbackup, xdg-utils\nArchitecture: all\n");
  });

  it("has a user unit that systemd-analyze verify accepts, running the dashboard on 127.0.0.1 only", () => {
    // verify needs the ExecStart binary: the unit is checked with its path moved into the unpacked tree.
    // (Without --user: a user manager needs a login session's runtime directory, which CI has not.)
    const root = tmpDir("qdd-deb-unit-");
    ok("dpkg-deb", ["-x", DEB, root]);
    const unit = path.join(root, UNIT);
    const text = fs.readFileSync(unit, "utf8");
    expect(text).toMatch(/^ExecStart=\/usr\/lib\/qubes-dedup\/qubes-dedup-web$/m);
    const stub = path.join(root, "qubes-dedup-web.service");
    fs.writeFileSync(stub, text.replace("/usr/lib/qubes-dedup/qubes-dedup-web", path.join(root, "usr/lib/qubes-dedup/qubes-dedup-web")));
    const r = run("systemd-analyze", ["verify", stub]);
    expect(`${r.status} ${r.stderr}`).toBe("0 ");
    expect(fs.readFileSync(path.join(root, "usr/lib/qubes-dedup/qubes-dedup-web"), "utf8")).toMatch(/^export HOSTNAME=127\.0\.0\.1 /m);
  });

  it("installs with dpkg -i, runs under Node 20 and Node 22 with its data in the home, runs the demo and the dashboard, and dpkg -r removes every file", async () => {
    expect(ok("dpkg-query", ["-W", "-f", "${Status}", "nodejs"])).toBe("install ok installed");
    const before = contents().filter((e) => !e.mode.startsWith("d")).map((e) => e.file);
    for (const f of before) expect(fs.existsSync(f), `${f} exists before the install`).toBe(false);
    ok("dpkg", ["-i", DEB]);
    try {
      for (const f of before) expect(fs.lstatSync(f, { throwIfNoEntry: false }), f).toBeDefined();
      const node22 = ok("sh", ["tools/node22.sh"]).trim();
      for (const [label, node] of [["node 20", "node"], ["node 22", node22]] as const) {
        const home = tmpDir("qdd-deb-home-");
        const bin = node === "node" ? "" : `${path.dirname(node)}:`;
        // The PATH of a qrexec service: no workspace, only the system's directories.
        const env = { HOME: home, PATH: `${bin}/usr/local/bin:/usr/bin:/bin` };
        expect(ok("sh", ["-c", "node --version"], env), label).toMatch(label === "node 22" ? /^v22\./ : /^v20\./);
        expect(ok("qubes-dedup", ["--help"], env)).toMatch(/^usage: qubes-dedup <command>/);
        fs.writeFileSync(path.join(home, "pw"), "correct horse battery\n", { mode: 0o600 });
        ok("/usr/bin/qubes-dedup", ["repo", "add", "main", "--engine", "restic", "--location", path.join(home, "repo"), "--password-file", path.join(home, "pw")], env);
        expect(JSON.parse(ok("/usr/bin/qubes-dedup", ["snapshots", "--repo", "main", "--json"], env))).toEqual([]);
        expect(fs.existsSync(path.join(home, ".local/share/qubes-dedup/qubes-dedup.db")), label).toBe(true);
        expect(ok("/usr/bin/qubes-dedup", ["web-token"], env)).toMatch(/^[0-9a-f]{64}\n$/);
        expect(fs.statSync(path.join(home, ".local/share/qubes-dedup/web-token")).mode & 0o777).toBe(0o600);
      }
      await demoAgainstInstalled();
    } finally {
      ok("dpkg", ["-r", "qubes-dedup"]);
    }
    for (const f of before) expect(fs.lstatSync(f, { throwIfNoEntry: false }), `${f} is left after dpkg -r`).toBeUndefined();
    expect(fs.existsSync("/usr/lib/qubes-dedup")).toBe(false);
  }, 900_000);
});

describe("the backup-qube .rpm (Fedora templates)", () => {
  beforeAll(async () => {
    // The same files as the .deb, which the describe above built.
    if (!fs.existsSync(DEB)) await promisify(execFile)("bash", ["tools/package/template-build.sh"], { cwd: WORKSPACE, maxBuffer: 64 << 20 });
    await promisify(execFile)("bash", ["tools/package/template-rpm.sh", "--no-build"], { cwd: WORKSPACE, maxBuffer: 64 << 20 });
  }, 600_000);

  it("holds the same files as the .deb, root-owned, nothing writable by others, with Fedora's dependencies", () => {
    const listing = ok("rpm", ["-qlvp", RPM]).trim().split("\n").map((l) => {
      const f = l.trim().split(/\s+/);
      return { mode: f[0]!, owner: `${f[2]}/${f[3]}`, file: f[8]!, link: f[9] === "->" ? f[10] : undefined };
    });
    const files = listing.filter((e) => !e.mode.startsWith("d")).map((e) => e.file);
    const debFiles = contents().filter((e) => !e.mode.startsWith("d")).map((e) => e.file);
    expect(files.sort()).toEqual(debFiles.sort());
    for (const e of listing) {
      expect(`${e.file} ${e.owner}`).toBe(`${e.file} root/root`);
      if (!e.mode.startsWith("l")) expect(e.mode[8], `${e.file} is writable by others`).toBe("-");
    }
    const requires = ok("rpm", ["-qp", "--requires", RPM]).split("\n").filter((l) => l && !l.startsWith("rpmlib("));
    expect(requires).toEqual(["e2fsprogs", "nodejs >= 20.19", "python3", "restic"]);
    expect(ok("rpm", ["-qp", "--recommends", RPM])).toBe("borgbackup\nxdg-utils\n");
    expect(ok("rpm", ["-qp", "--queryformat", "%{ARCH}", RPM])).toBe("noarch");
    // Nothing is a config file: erasing the package removes every file.
    expect(ok("rpm", ["-qcp", RPM])).toBe("");
  });

  it("installs into a scratch root with rpm --root, and rpm -e leaves the root as it was", () => {
    const root = tmpDir("qdd-rpm-root-");
    for (const d of ["usr/bin", "usr/lib/systemd/user", "usr/share/applications", "usr/share/doc", "etc/profile.d", "etc/qubes-rpc", "var/lib/rpm"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    ok("rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "--initdb"]);
    const treeOf = () => tree(root, (rel) => rel.startsWith("var/lib/rpm/"));
    const before = treeOf();
    ok("rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "--nodeps", "-i", RPM]);
    for (const f of ["usr/bin/qubes-dedup", "usr/lib/qubes-dedup/qubes-dedup.mjs", "usr/lib/qubes-dedup/bin/scrypt", "etc/profile.d/qubes-dedup.sh", "etc/qubes-rpc/qubes-dedup.ReadFilesystem", "usr/lib/qubes-dedup/web/apps/web/server.js"])
      expect(fs.existsSync(path.join(root, f)), f).toBe(true);
    ok("rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "-e", "qubes-dedup"]);
    expect(treeOf()).toEqual(before);
  });
});
