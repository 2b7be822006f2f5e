import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Every path under `dir` with its type, mode, owner and content hash
 * (SHA-256; a symlink's target), sorted; paths (relative to `dir`) for
 * which `skip` is true are left out. Two calls compare a tree before and
 * after (an install and its removal).
 */
export function tree(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (skip(rel)) continue;
      if (st.isDirectory()) {
        out.push(`${rel}/ ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
        walk(p);
      } else {
        const what = st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : createHash("sha256").update(fs.readFileSync(p)).digest("hex");
        out.push(`${rel} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      }
    }
  };
  walk(dir);
  return out;
}
