/**
 * `ledger push` and `ledger rebuild`: the repository's copy of dom0's
 * ledger by hand (ledger/sync.ts; docs/LEDGER.md). A rebuild is what a new
 * dom0 runs with its recovery code before restoring.
 */
import { loadConfig, underRoot } from "./config.ts";
import fs from "node:fs";
import { PassphraseFileError, checkPassphraseFile } from "./runs.ts";
import { RebuildRefusal } from "./ledger/copy.ts";
import { passphraseIn, pushCopy, rebuildLedger } from "./ledger/sync.ts";
import { UsageError } from "./args.ts";
import { ValidationError, qubeName, repoName } from "./validate.ts";

/** Options of both commands, as commander names them. */
export interface LedgerSyncOptions {
  root: string;
  repo?: string;
  destVm?: string;
  passphraseFile?: string;
}

function target(o: LedgerSyncOptions, rebuilding = false) {
  const cfg = loadConfig(o.root);
  const destVm = o.destVm ?? cfg.destVm;
  const repo = o.repo ?? cfg.repo;
  try {
    qubeName(destVm, "backup qube");
    if (repo !== undefined) repoName(repo);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(e.message);
    throw e;
  }
  const file = o.passphraseFile ?? underRoot(o.root, cfg.passphraseFile);
  try {
    checkPassphraseFile(file);
  } catch (e) {
    // a new dom0 restores its passphrase from the recovery code; a new secret would open nothing
    if (rebuilding && e instanceof PassphraseFileError && !fs.existsSync(file)) {
      throw new PassphraseFileError(`the passphrase file ${file} does not exist; write your recovery code on its first line (\`install -m 600 /dev/null ${file}\`, then edit it) and run the rebuild again.`);
    }
    throw e;
  }
  return { destVm, repo, passphrase: passphraseIn(file) };
}

const say = (line: string) => process.stderr.write(`qubes-dedup-agent: ${line}\n`);

/** `ledger push`: signs the ledger with the next sequence and stores it in the repository. */
export async function ledgerPush(o: LedgerSyncOptions): Promise<number> {
  const r = await pushCopy(o.root, target(o), process.env);
  say(r.line);
  return r.ok ? 0 : 1;
}

/** `ledger rebuild`: rebuilds dom0's ledger from the repository's copy, refusing a forged or rolled-back one. */
export async function ledgerRebuild(o: LedgerSyncOptions): Promise<number> {
  try {
    const r = await rebuildLedger(o.root, target(o, true), process.env);
    say(`rebuilt dom0's ledger from the repository's copy (sequence ${r.sequence}): ${r.added.length} backups added, ${r.kept.length} already recorded`);
    if (r.differing.length) say(`warning: this dom0's own record differs from the copy for ${r.differing.join(", ")}; its own record was kept.`);
    if (r.unrecorded.length) say(`warning: the repository holds backups the ledger does not record (made before it, or dom0 could not record them): ${r.unrecorded.join(", ")}; their restores will not be checked for completeness.`);
    return 0;
  } catch (e) {
    if (e instanceof RebuildRefusal) {
      say(`ledger rebuild refused: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
