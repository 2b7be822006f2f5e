import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { cancelTask, listTasks, startBackup, startRestore, taskDone } from "../src/index.ts";
import { removeTemplate, seedTwoSnapshots, tempDatabase } from "./seed.ts";

// A qrexec client that holds the request open (as dom0 does while its user
// has not answered the confirmation) until it is killed.
let dir: string;
let db: Awaited<ReturnType<typeof tempDatabase>>;
const saved = process.env.QUBES_DEDUP_QREXEC_CLIENT;

beforeAll(async () => {
  db = await tempDatabase();
  await seedTwoSnapshots(db);
  dir = tmpDir("one-backup");
  const client = path.join(dir, "qrexec-client-vm");
  fs.writeFileSync(client, "#!/bin/sh\ncat >/dev/null\nexec sleep 600\n", { mode: 0o755 });
  process.env.QUBES_DEDUP_QREXEC_CLIENT = client;
}, 60_000);

afterAll(async () => {
  for (const t of await listTasks(db)) {
    cancelTask(t.id);
    await taskDone(t.id);
  }
  if (saved === undefined) delete process.env.QUBES_DEDUP_QREXEC_CLIENT;
  else process.env.QUBES_DEDUP_QREXEC_CLIENT = saved;
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  await removeTemplate();
});

describe("one backup per repository at a time", () => {
  it("of two concurrent backup calls for one repository, one is sent and the other refused with the reason; other repositories and restores are not held up", async () => {
    const input = { repository: "default", qubes: [], exclude: [] };
    const results = await Promise.allSettled([startBackup(db, input), startBackup(db, input)]);
    const sent = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(sent).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const first = (sent[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof startBackup>>>).value;
    expect((refused[0]!.reason as Error).message).toMatch(
      new RegExp(`^A backup of repository "default" is already under way \\(request #${first.id}, (starting|waiting)\\): wait for it to end, or cancel it, before asking for another\\.$`),
    );
    // a third call, once the first is recorded as waiting, is refused too
    await expect(startBackup(db, input)).rejects.toThrow(/^A backup of repository "default" is already under way/);
    expect((await listTasks(db, "backup")).map((t) => t.id)).toEqual([first.id]);
    expect(await db.prisma.job.count({ where: { kind: "backup-request" } })).toBe(1);

    const other = await startBackup(db, { repository: "offsite", qubes: [], exclude: [] });
    const restore = await startRestore(db, { repository: "default", snapshot: "bbbb2222", qubes: [], verifyOnly: true, paranoid: false, conflicts: "rename" });
    expect(other.state).toBe("starting");
    expect(restore.state).toBe("starting");
  });

  it("accepts the next backup once the first has ended", async () => {
    const [first] = await listTasks(db, "backup").then((ts) => ts.filter((t) => t.repository === "default"));
    cancelTask(first!.id);
    await taskDone(first!.id);
    const next = await startBackup(db, { repository: "default", qubes: [], exclude: [] });
    expect(next.id).toBeGreaterThan(first!.id);
  });
});
