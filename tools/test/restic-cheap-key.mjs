#!/usr/bin/env node
// Test infrastructure only: rewrites the key of a freshly initialised local
// restic repository so that opening it costs about a millisecond of scrypt
// instead of the ~0.5 s restic calibrates at `init` (restic's own test suite
// lowers the same parameters). The repository, its master key and every
// other file stay as restic wrote them.
//
// Format facts (restic's design document, "Keys, Encryption and MAC"): a key
// file is JSON with scrypt parameters N, r, p, a salt and `data`, which is
// IV (16 bytes) || AES-256-CTR ciphertext || Poly1305-AES MAC (16 bytes) of the
// master key's JSON. scrypt derives 64 bytes: 32 of AES key, then 16 of the
// MAC's AES key k and 16 of its Poly1305 r. Repository files are named by
// the SHA-256 of their contents.
//
// Usage: restic-cheap-key.mjs <repository directory> <password file>
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CHEAP = { N: 1024, r: 8, p: 1 };

function le(buf) {
  let n = 0n;
  for (let i = buf.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(buf[i]);
  return n;
}

/** Poly1305 (RFC 8439) of `msg` with the 16-byte r (clamped here) and s. */
function poly1305(r16, s16, msg) {
  const r = Buffer.from(r16);
  for (const i of [3, 7, 11, 15]) r[i] &= 15;
  for (const i of [4, 8, 12]) r[i] &= 252;
  const rn = le(r);
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = Buffer.concat([msg.subarray(i, i + 16), Buffer.from([1])]);
    acc = ((acc + le(block)) * rn) % p;
  }
  acc = (acc + le(s16)) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) { out[i] = Number(acc & 0xffn); acc >>= 8n; }
  return out;
}

function macOf(derived, iv, ciphertext) {
  const k = derived.subarray(32, 48);
  const r = derived.subarray(48, 64);
  const aes = createCipheriv("aes-128-ecb", k, null);
  aes.setAutoPadding(false);
  const s = Buffer.concat([aes.update(iv), aes.final()]);
  return poly1305(r, s, ciphertext);
}

function derive(password, salt, { N, r, p }) {
  return scryptSync(password, salt, 64, { N, r, p, maxmem: 256 * N * r * p + 1024 * 1024 });
}

const [repo, passwordFile] = process.argv.slice(2);
if (!repo || !passwordFile) {
  console.error("usage: restic-cheap-key.mjs <repository directory> <password file>");
  process.exit(2);
}
// restic reads the password file's first line, without its line end
const password = readFileSync(passwordFile, "utf8").split(/\r?\n/)[0];
const keysDir = join(repo, "keys");
const names = readdirSync(keysDir);
if (names.length !== 1) throw new Error(`${keysDir} holds ${names.length} keys; a fresh repository holds one`);
const key = JSON.parse(readFileSync(join(keysDir, names[0]), "utf8"));
const data = Buffer.from(key.data, "base64");
const iv = data.subarray(0, 16);
const ciphertext = data.subarray(16, data.length - 16);
const old = derive(password, Buffer.from(key.salt, "base64"), key);
if (!timingSafeEqual(macOf(old, iv, ciphertext), data.subarray(data.length - 16))) throw new Error("the key's MAC does not match this password");
const d = createDecipheriv("aes-256-ctr", old.subarray(0, 32), iv);
const master = Buffer.concat([d.update(ciphertext), d.final()]);

const salt = randomBytes(64);
const fresh = derive(password, salt, CHEAP);
const iv2 = randomBytes(16);
const e = createCipheriv("aes-256-ctr", fresh.subarray(0, 32), iv2);
const ct2 = Buffer.concat([e.update(master), e.final()]);
const out = { ...key, ...CHEAP, salt: salt.toString("base64"), data: Buffer.concat([iv2, ct2, macOf(fresh, iv2, ct2)]).toString("base64") };
const text = Buffer.from(JSON.stringify(out));
const id = createHash("sha256").update(text).digest("hex");
writeFileSync(join(keysDir, `.${id}.tmp`), text, { mode: 0o400 });
renameSync(join(keysDir, `.${id}.tmp`), join(keysDir, id));
unlinkSync(join(keysDir, names[0]));
