import fs from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { callScrypt } from "../src/index.ts";
import { tmpDir } from "../src/testing/index.ts";

// A fake scrypt that behaves like the prompt protocol demands: prompts on
// stderr, passphrase from /dev/tty, echoes what it read to stdout.
function fakeScrypt(dir: string): string {
  const p = path.join(dir, "scrypt");
  fs.writeFileSync(
    p,
    `#!/bin/sh
printf 'Please enter passphrase: ' >&2
read -r a < /dev/tty
if [ "$1" = enc ]; then printf 'Please confirm passphrase: ' >&2; read -r b < /dev/tty; else b=-; fi
printf '%s|%s|%s' "$a" "$b" "$(cat)"
echo "done" >&2
exit 3
`,
    { mode: 0o755 },
  );
  return dir;
}

describe("callScrypt", () => {
  it("answers both enc prompts through the controlling tty, pipes stdin and stdout, relays stderr and exit status", async () => {
    const dir = fakeScrypt(tmpDir("tty"));
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    const stdin = new PassThrough();
    stdin.end("payload");
    const r = await callScrypt({
      args: ["enc", "-", "-"],
      passphrase: "id!vm3/private.img.000!secret",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      stdin,
      stdout: out,
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe("done\n");
    expect(Buffer.concat(chunks).toString()).toBe("id!vm3/private.img.000!secret|id!vm3/private.img.000!secret|payload");
  });

  it("fails with 124 on an unexpected prompt", async () => {
    const dir = tmpDir("tty");
    fs.writeFileSync(path.join(dir, "scrypt"), "#!/bin/sh\nprintf 'Password please: ' >&2\nsleep 5\n", { mode: 0o755 });
    const r = await callScrypt({ args: ["dec", "-f", "a", "b"], passphrase: "x", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    expect(r.exitCode).toBe(124);
    expect(r.stderr).toContain("unexpected prompt");
  });
});
