import type { EngineSnapshot } from "../engine/types.ts";
import { runIdOf } from "./tags.ts";

/**
 * How the repository keeps dom0's signed ledger copies (docs/LEDGER.md):
 * each copy is its own snapshot holding one file {@link LEDGER_FILE}, tagged
 * {@link LEDGER_TAG}, `qd-seq:<sequence>` and `qd-run:<run id>` (which keeps
 * borg archive names unique when dom0 sends one sequence twice). It never
 * carries the project tag `qubes-dedup`, so no listing, reindex, retention
 * or incomplete-run rule ({@link isDataSnapshot}, {@link incompleteRunsOf})
 * takes it for a backup. The backup qube cannot check a copy (dom0 alone
 * holds its key); the sequence in the tag is only a hint for picking the
 * newest, which dom0 checks against the signed sequence.
 */

/** Tag of a snapshot holding a copy of dom0's ledger. */
export const LEDGER_TAG = "qd-ledger";
/** Start of the tag carrying the copy's sequence number: `qd-seq:<n>`. */
export const SEQUENCE_TAG_PREFIX = "qd-seq:";
/** File name of the copy inside its snapshot. */
export const LEDGER_FILE = "qubes-dedup.ledger";

/** The tags of a copy with `sequence` stored by run `runId`. Pure. */
export function ledgerCopyTags(sequence: number, runId: string): string[] {
  return [LEDGER_TAG, `${SEQUENCE_TAG_PREFIX}${sequence}`, `qd-run:${runId}`];
}

/** The sequence a copy's tags claim (undefined when it has none, or it is no number). Pure. */
export function claimedSequence(s: EngineSnapshot): number | undefined {
  const t = s.tags.find((x) => x.startsWith(SEQUENCE_TAG_PREFIX))?.slice(SEQUENCE_TAG_PREFIX.length);
  return t !== undefined && /^[0-9]{1,15}$/.test(t) ? Number(t) : undefined;
}

/**
 * The ledger copies among a repository's snapshots, highest claimed
 * sequence first (then newest first). Pure.
 */
export function ledgerCopiesOf(all: EngineSnapshot[]): EngineSnapshot[] {
  return all
    .filter((s) => s.tags.includes(LEDGER_TAG) && claimedSequence(s) !== undefined && runIdOf(s.tags) !== undefined)
    .sort((a, b) => claimedSequence(b)! - claimedSequence(a)! || b.time.getTime() - a.time.getTime());
}
