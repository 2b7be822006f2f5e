// One table of good and hostile names and ids, fed to dom0's grammar (the
// agent's own path: request bytes -> planRequest, as `rpc backup|restore`
// checks them) and to the backup qube's (libs/service's request schemas,
// which the CLI and the dashboard apply before they ask dom0). Both must
// give the same verdict, and the verdict expected for the row.
//
// It lives with the agent because dom0's refusal is the one that protects
// the machine. The import of @qubes-dedup/service is test-only: the agent's
// bundle (src/cli.ts) never contains it, which the bundle test checks.
import { describe, expect, it } from "vitest";
import { backupIdSchema, isBackupId, isQubeName, isRepositoryName, isSnapshotRef } from "@qubes-dedup/protocol";
import { backupTaskInput, repositoryNameSchema, restoreTaskInput } from "@qubes-dedup/service";
import { planRequest } from "../src/rpc/handler.ts";

type Kind = "qube" | "repository" | "snapshot";
type Row = [kind: Kind, value: string, ok: boolean];

/** A run id as libs/pipeline's ingest makes it: ISO time without -:. and 8 hex of a UUID. */
const RUN = `qd-run:${new Date("2025-01-02T03:04:05.678Z").toISOString().replace(/[-:.]/g, "")}-0a1b2c3d`;
const BOM = "\ufeff";

const GOOD: Row[] = [
  ...["work", "sys-net", "A1_b.c-d", "a".repeat(31), "dom0", "vault-backup", "fedora-41", "Work2"].map((v): Row => ["qube", v, true]),
  ...["main", "default", "offsite", "a", "a".repeat(32), "my_repo-2"].map((v): Row => ["repository", v, true]),
  ...["0a1b2c3d", "f".repeat(64), `qubes-dedup,${RUN},qd-data`, `qubes-dedup,${RUN},qd-side`, "host-2026-11-30T10:00:00", "a".repeat(128), "Latest.1_x"].map((v): Row => ["snapshot", v, true]),
];

/** Hostile in every slot: shell syntax, options, whitespace, control characters, traversal, lookalikes, lengths. */
const HOSTILE = ["", "a".repeat(200), "--opt", "-rf", "$(x)", "`id`", "a;b", ";", "a|b", "a&b", "a>b", "a'b", 'a"b', "a\\b", "a b", "a\tb", "a\nb", "a\rb", "a\u0000b", "a\u001bb", `${BOM}work`, `work${BOM}`, "../x", "a/b", "*", "w\u043erk", "\uff57ork", "é", "work\u200b"];

const BAD: Row[] = [
  ...[...HOSTILE, "a".repeat(32), "1abc", "_a", ".a", "disp-dm", "none", "default", "Domain-0"].map((v): Row => ["qube", v, false]),
  ...[...HOSTILE, "a".repeat(33), "Main", "0", "off-site.2", ".hidden", "_a", "--password-file=/etc/shadow", "m\u0430in", "main\n"].map((v): Row => ["repository", v, false]),
  ...[...HOSTILE, "a".repeat(129), ":x", ",x", ".hidden", "../../etc/shadow", "abc/../def", "/etc/passwd", "0a1b2c3d; id", "0a1b2c3d\n--verify-only", "\uff10a1b2c3d", `${BOM}0a1b2c3d`].map((v): Row => ["snapshot", v, false]),
];

const line = (request: object) => Buffer.from(`${JSON.stringify(request)}\n`);

/** dom0's verdict, through the handler's own checks. */
function dom0Accepts(kind: Kind, value: string): boolean {
  try {
    if (kind === "qube") planRequest("backup", line({ qubes: [value] }), "backup", "/p");
    if (kind === "repository") planRequest("backup", line({ repo: value }), "backup", "/p");
    if (kind === "snapshot") planRequest("restore", line({ snapshot: value }), "backup", "/p");
    return true;
  } catch (e) {
    expect((e as Error).name).toMatch(/^(RequestError|NameError)$/);
    return false;
  }
}

/** The backup qube's verdict, with the schemas its CLI and dashboard use. */
function backupQubeAccepts(kind: Kind, value: string): boolean {
  if (kind === "qube") return backupTaskInput.safeParse({ repository: "main", qubes: [value] }).success && backupTaskInput.safeParse({ repository: "main", exclude: [value] }).success;
  if (kind === "repository") return backupTaskInput.safeParse({ repository: value }).success && repositoryNameSchema.safeParse(value).success;
  return restoreTaskInput.safeParse({ repository: "main", snapshot: value }).success;
}

const PROTOCOL: Record<Kind, (v: string) => boolean> = { qube: isQubeName, repository: isRepositoryName, snapshot: isSnapshotRef };

describe("one name rule on both sides of qrexec", () => {
  it.each([...GOOD, ...BAD])("%s %j: accepted = %s by dom0 and by the backup qube", (kind, value, ok) => {
    expect(dom0Accepts(kind, value)).toBe(ok);
    expect(backupQubeAccepts(kind, value)).toBe(ok);
    expect(PROTOCOL[kind](value)).toBe(ok);
  });

  it("covers every kind with good and hostile rows", () => {
    for (const kind of ["qube", "repository", "snapshot"] as const) {
      expect(GOOD.filter((r) => r[0] === kind).length).toBeGreaterThan(3);
      expect(BAD.filter((r) => r[0] === kind).length).toBeGreaterThan(HOSTILE.length);
    }
  });

  // Backup-ids never cross the qrexec request (they come with the stream, and
  // the shim only sees them in the passphrase line), so there is no request
  // path to feed; both sides' checker is the protocol's rule.
  it.each<[string, boolean]>([
    ["20250102T030405-1234", true],
    ["20161020T123455-1234", true],
    ["20250101T000000-1", true],
    ...["", "x", "2025-01-02T03:04:05-1", "20250102T030405", "20250102T030405-", "20250102T030405-12a", "-20250102T030405-1", "20250102T030405-1\n", "20250102T030405-1;id", `${BOM}20250102T030405-1`, "\uff120250102T030405-1", `20250102T030405-${"1".repeat(200)}`, "../20250102T030405-1", "20250102T030405-$(x)"].map((v): [string, boolean] => [v, false]),
  ])("backup-id %j: accepted = %s", (value, ok) => {
    expect(isBackupId(value)).toBe(ok);
    expect(backupIdSchema.safeParse(value).success).toBe(ok);
  });
});
