import { describe, expect, it } from "vitest";
import { withoutPassword } from "../src/engine/common.ts";
import { sshKeepAlive } from "../src/engine/borg.ts";

describe("remote repository options", () => {
  it("shows a URL's password as *** and leaves every other location as it is", () => {
    expect(withoutPassword("rest:https://alice:a%20b@127.0.0.1:8000/alice/")).toBe("rest:https://alice:***@127.0.0.1:8000/alice/");
    expect(withoutPassword("rest:http://127.0.0.1:8000/x/")).toBe("rest:http://127.0.0.1:8000/x/");
    expect(withoutPassword("ssh://borg@nas.lan:2222/srv/borg")).toBe("ssh://borg@nas.lan:2222/srv/borg");
    expect(withoutPassword("sftp:user@host:/srv/restic")).toBe("sftp:user@host:/srv/restic");
    expect(withoutPassword("/srv/restic")).toBe("/srv/restic");
  });

  it("gives borg's ssh keep-alives that give up after about the limit, after the user's own options", () => {
    expect(sshKeepAlive("ssh", 60)).toBe("ssh -o ServerAliveInterval=5 -o ServerAliveCountMax=12 -o ConnectTimeout=60");
    expect(sshKeepAlive("ssh -i key -o ServerAliveInterval=30", 30)).toBe("ssh -i key -o ServerAliveInterval=30 -o ServerAliveInterval=5 -o ServerAliveCountMax=6 -o ConnectTimeout=30");
    expect(sshKeepAlive("ssh", 3)).toBe("ssh -o ServerAliveInterval=1 -o ServerAliveCountMax=3 -o ConnectTimeout=3");
  });
});
