import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { answerPending, evaluatePolicy, listPending, parsePolicy, PolicyError, waitForPending } from "../src/index.ts";
import { HERE } from "./helpers.ts";
import { tmpDir } from "../src/testing/index.ts";

const BIN = path.join(HERE, "..", "bin");

/** A dom0 root with `policy` as its only policy file, and a stand-in handler that records its call. */
function dom0(policy?: string) {
  const root = tmpDir("qrexec");
  if (policy !== undefined) {
    fs.mkdirSync(path.join(root, "etc/qubes/policy.d"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/qubes/policy.d/30-test.policy"), policy);
  }
  const agent = path.join(root, "agent.mjs");
  const record = path.join(root, "handler.json");
  fs.writeFileSync(
    agent,
    `import fs from "node:fs";
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("QREXEC_") || k === "DOM0_MARK"));
fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), env, input: Buffer.concat(chunks).toString() }));
process.stdout.write("handled\\n");
process.stderr.write("a line for dom0's log\\n");
process.exitCode = Number(process.env.HANDLER_EXIT ?? 0);
`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, QUBES_SIM_ROOT: root, QUBES_SIM_AGENT: agent, DOM0_MARK: "dom0-env", QREXEC_REMOTE_DOMAIN: "forged" };
  delete env.QUBES_SIM_VM_NAME;
  const handled = () => (fs.existsSync(record) ? (JSON.parse(fs.readFileSync(record, "utf8")) as { argv: string[]; env: Record<string, string>; input: string }) : undefined);
  return { root, env, handled };
}

function client(args: string[], env: NodeJS.ProcessEnv, input = "") {
  const r = spawnSync(path.join(BIN, "qrexec-client-vm"), args, { env, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function clientAsync(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(path.join(BIN, "qrexec-client-vm"), args, { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d));
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("policy.d rules", () => {
  const rules = [
    ...parsePolicy("# comment\n\nqubes.DedupRestore * backup dom0 ask  # trailing\nqubes.DedupBackup +x backup @adminvm allow notify=yes\n", "30-a.policy"),
    ...parsePolicy("qubes.DedupBackup * @anyvm @adminvm deny\n* * @anyvm @anyvm allow\n", "40-b.policy"),
  ];
  const call = (service: string, source: string, target = "dom0", argument = "") => evaluatePolicy(rules, { service, argument, source, target })?.action;

  it("first match wins; dom0 and @adminvm are the same target; @anyvm is never dom0", () => {
    expect(call("qubes.DedupRestore", "backup")).toBe("ask");
    expect(call("qubes.DedupRestore", "backup", "@adminvm")).toBe("ask");
    expect(call("qubes.DedupBackup", "backup", "dom0", "x")).toBe("allow");
    expect(call("qubes.DedupBackup", "backup")).toBe("deny");
    expect(call("qubes.DedupRestore", "work")).toBeUndefined();
    expect(call("qubes.Other", "work", "vault")).toBe("allow");
    expect(evaluatePolicy(rules, { service: "qubes.DedupRestore", argument: "", source: "backup", target: "dom0" })?.where).toBe("30-a.policy:3");
  });

  it("refuses lines it cannot read, naming file and line", () => {
    expect(() => parsePolicy("qubes.X * a dom0\n", "f.policy")).toThrow(new PolicyError("f.policy:1: a rule needs service, argument, source, target and action; fix the line."));
    expect(() => parsePolicy("\nqubes.X * a dom0 maybe\n", "f.policy")).toThrow('f.policy:2: unknown action "maybe"');
    expect(() => parsePolicy("qubes.X arg a dom0 allow\n", "f.policy")).toThrow('the argument column must be "*"');
    expect(() => parsePolicy("!include other\n", "f.policy")).toThrow('"!include" is not supported');
  });
});

describe("qrexec-client-vm", () => {
  it("runs an allowed dom0 service as a separate process with the caller's stdin/stdout and QREXEC_REMOTE_DOMAIN", () => {
    const d = dom0("qubes.DedupBackup * backup dom0 allow\n");
    const r = client(["dom0", "qubes.DedupBackup"], { ...d.env, HANDLER_EXIT: "5" }, '{"qubes":["work"]}\n');
    expect(r).toEqual({ code: 5, stdout: "handled\n", stderr: "" });
    const h = d.handled()!;
    expect(h.argv).toEqual(["rpc", "backup"]);
    expect(h.input).toBe('{"qubes":["work"]}\n');
    expect(h.env).toEqual({ DOM0_MARK: "dom0-env", QREXEC_REMOTE_DOMAIN: "backup", QREXEC_SERVICE_FULL_NAME: "qubes.DedupBackup", QREXEC_REQUESTED_TARGET: "dom0" });
    expect(fs.readFileSync(path.join(d.root, "qrexec/log/qubes.DedupBackup.log"), "utf8")).toBe("a line for dom0's log\n");
  });

  it("names the calling qube from QUBES_SIM_VM_NAME and passes a service argument", () => {
    const d = dom0("qubes.DedupRestore +snap work @adminvm allow\n");
    expect(client(["dom0", "qubes.DedupRestore+snap"], { ...d.env, QUBES_SIM_VM_NAME: "work" }).code).toBe(0);
    expect(d.handled()!.env).toMatchObject({ QREXEC_REMOTE_DOMAIN: "work", QREXEC_SERVICE_ARGUMENT: "snap", QREXEC_SERVICE_FULL_NAME: "qubes.DedupRestore+snap" });
  });

  it.each([
    ["no policy at all", undefined],
    ["a deny rule", "qubes.DedupBackup * backup dom0 deny\n"],
    ["a rule for another qube", "qubes.DedupBackup * work dom0 allow\n"],
    ["a rule for another service", "qubes.DedupRestore * backup dom0 allow\n"],
  ])("refuses with exit 126 and never runs the handler under %s", (_what, policy) => {
    const d = dom0(policy);
    expect(client(["dom0", "qubes.DedupBackup"], d.env, "{}\n")).toEqual({ code: 126, stdout: "", stderr: "Request refused\n" });
    expect(d.handled()).toBeUndefined();
  });

  it("refuses, saying why, when the policy cannot be read", () => {
    const d = dom0("qubes.DedupBackup * backup dom0 perhaps\n");
    const r = client(["dom0", "qubes.DedupBackup"], d.env);
    expect(r.code).toBe(126);
    expect(r.stderr).toBe('qrexec-client-vm (simulated): 30-test.policy:1: unknown action "perhaps"; use allow, deny or ask.\nRequest refused\n');
  });

  it("ask: waits for the confirmation file, then runs (allow) or refuses (deny)", async () => {
    const d = dom0("qubes.DedupRestore * backup dom0 ask\n");
    const asked = Date.now();
    const allowed = clientAsync(["dom0", "qubes.DedupRestore"], d.env, '{"snapshot":"0a1b2c3d"}\n');
    const p = await waitForPending(d.root, { service: "qubes.DedupRestore", timeoutSeconds: 30 });
    expect(p).toMatchObject({ service: "qubes.DedupRestore", source: "backup", target: "dom0" });
    // the time the call was made, as an ISO 8601 UTC timestamp with milliseconds
    expect(p.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(new Date(p.time).toISOString()).toBe(p.time);
    // stamped when the call was made: after the test made it, before the test read it
    expect(new Date(p.time).getTime()).toBeGreaterThanOrEqual(asked);
    expect(new Date(p.time).getTime()).toBeLessThanOrEqual(Date.now());
    expect(listPending(d.root)).toEqual([p]);
    expect(d.handled()).toBeUndefined();
    answerPending(d.root, p.id, "allow");
    expect(await allowed).toEqual({ code: 0, stdout: "handled\n", stderr: "" });
    expect(d.handled()!.input).toBe('{"snapshot":"0a1b2c3d"}\n');
    expect(listPending(d.root)).toEqual([]);

    const d2 = dom0("qubes.DedupRestore * backup dom0 ask\n");
    const denied = clientAsync(["dom0", "qubes.DedupRestore"], d2.env, "{}\n");
    const confirm = spawnSync(path.join(BIN, "qubes-sim-confirm"), ["--next", "deny", "--timeout", "30"], { env: d2.env, encoding: "utf8" });
    expect(confirm.stdout).toMatch(/^denied [0-9a-z-]+: qubes.DedupRestore from backup\n$/);
    expect(await denied).toEqual({ code: 126, stdout: "", stderr: "Request refused\n" });
    expect(d2.handled()).toBeUndefined();
  });

  it("ask: no answer in time means refused", () => {
    const d = dom0("qubes.DedupBackup * backup dom0 ask\n");
    expect(client(["dom0", "qubes.DedupBackup"], { ...d.env, QUBES_SIM_ASK_TIMEOUT: "0.3" }).code).toBe(126);
    expect(d.handled()).toBeUndefined();
    expect(listPending(d.root)).toEqual([]);
  });

  it("a killed client hangs up on the handler, which sees its next write fail; the client waits for it and exits 143", async () => {
    const d = dom0("qubes.DedupBackup * backup dom0 allow\n");
    const seen = path.join(d.root, "hangup.txt");
    fs.writeFileSync(
      path.join(d.root, "agent.mjs"),
      `import fs from "node:fs";
process.stdout.on("error", (e) => { fs.writeFileSync(${JSON.stringify(seen)}, e.code); process.exit(7); });
setInterval(() => process.stdout.write("progress 1.00\\n"), 50);
`,
    );
    const child = spawn(path.join(BIN, "qrexec-client-vm"), ["dom0", "qubes.DedupBackup"], { env: d.env, stdio: ["pipe", "pipe", "inherit"] });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(143);
    expect(fs.readFileSync(seen, "utf8")).toBe("EPIPE");
  });

  it("usage errors exit 2; unknown services and other targets exit 1 with a sentence", () => {
    const d = dom0("* * backup @anyvm allow\n* * backup dom0 allow\n");
    for (const args of [[], ["dom0"], ["dom0", "qubes.DedupBackup", "/bin/prog"], ["--frob", "dom0", "x"]]) {
      const r = client(args, d.env);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("usage: qrexec-client-vm TARGET SERVICE[+ARGUMENT]");
    }
    expect(client(["vault", "qubes.DedupBackup"], d.env).stderr).toContain('The simulator only runs services in dom0, not in "vault"; call dom0.');
    expect(client(["dom0", "qubes.Frob"], d.env).stderr).toContain("Service qubes.Frob does not exist in the simulated dom0");
    expect(client(["dom0", "bad;name"], d.env)).toMatchObject({ code: 1 });
    const c = spawnSync(path.join(BIN, "qubes-sim-confirm"), ["nope", "allow"], { env: d.env, encoding: "utf8" });
    expect(c.status).toBe(1);
    expect(c.stderr).toContain('No qrexec call "nope" is waiting for confirmation');
    expect(spawnSync(path.join(BIN, "qubes-sim-confirm"), ["x", "maybe"], { env: d.env }).status).toBe(2);
  });
});
