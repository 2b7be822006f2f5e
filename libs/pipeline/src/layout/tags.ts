import { randomUUID } from "node:crypto";

/**
 * How this project marks what it stores in an engine's repository. restic
 * keeps these as snapshot tags; borg has no tags, so its archive names are the
 * tags joined by commas (engine/borg.ts), e.g. `qubes-dedup,qd-run:<id>,qd-data`.
 * Every rule about these strings lives here: other projects import them.
 */

/** Tag on every snapshot this project writes. */
export const PROJECT_TAG = "qubes-dedup";
/** Start of the tag that pairs one ingest run's data snapshot with its side record: `qd-run:<run id>`. */
export const RUN_TAG_PREFIX = "qd-run:";
/** Tag of a canonical data snapshot (the inner streams' member data). */
export const DATA_TAG = "qd-data";
/** Tag of the snapshot holding a side record (layout/side-record.ts). */
export const SIDE_TAG = "qd-side";
/**
 * Start of the tag of a run's further data snapshots (side record format 2,
 * one per qube's section with data): `qd-part:<k>`, k ≥ 1; part 0 is the
 * `qd-data` snapshot. A run whose stream held no data stores one snapshot
 * tagged both `qd-data` and `qd-side`, holding only the side record.
 */
export const PART_TAG_PREFIX = "qd-part:";

/**
 * Start of the tag naming the machine (a dom0 and its backup qube) that made
 * a snapshot, when several machines back up into one repository:
 * `qd-machine:<name>`. The user names the machine (`repo add --machine`): in
 * Qubes every backup qube is often called "backup", so the host name is no
 * identity. restic also gets the name as the snapshot's host (`--host`).
 */
export const MACHINE_TAG_PREFIX = "qd-machine:";

/**
 * A machine name: 1 to 63 letters, digits, `.`, `_` or `-`, starting with a
 * letter or digit. Neither a comma (restic's tag list separator, borg's
 * archive name joins tags with it) nor a `/` or `:` (borg archive names) fits.
 */
const MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** What a machine name is made of, as the user is told (the end of {@link machineNameProblem}'s sentence). */
export const MACHINE_NAME_RULE = 'use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. laptop or office-pc)';

/** Why `name` is no machine name (one sentence), or undefined when it is one. */
export function machineNameProblem(name: string): string | undefined {
  if (MACHINE_NAME.test(name)) return undefined;
  return `invalid machine name "${name}": ${MACHINE_NAME_RULE}.`;
}

/** The machine tag of machine `name`: `qd-machine:<name>`. */
export function machineTag(name: string): string {
  return `${MACHINE_TAG_PREFIX}${name}`;
}

/**
 * A snapshot's tags as machine `machine` stores them: its machine tag right
 * after the project tag (so that borg's checkpoint suffix, which goes on the
 * archive name's end, still lands on the last tag); unchanged without a machine.
 */
export function withMachineTag(tags: readonly string[], machine: string | undefined): string[] {
  if (machine === undefined) return [...tags];
  const at = tags[0] === PROJECT_TAG ? 1 : 0;
  return [...tags.slice(0, at), machineTag(machine), ...tags.slice(at)];
}

/**
 * The snapshots machine `machine` made (those tagged `qd-machine:<machine>`),
 * or all of them without a machine: what every listing, reindex, retention
 * and cleanup of that machine works on, so another machine's snapshots are
 * never offered, never forgotten.
 */
export function ofMachine<T extends { tags: readonly string[] }>(snapshots: T[], machine: string | undefined): T[] {
  if (machine === undefined) return snapshots;
  const tag = machineTag(machine);
  return snapshots.filter((s) => s.tags.includes(tag));
}

/** File name of the whole stream in a raw (v1) snapshot. */
export const STREAM_FILE = "qubes-backup.bin";
/** File name of the canonical layout's data: the inner streams' member data, back to back. */
export const DATA_FILE = "qubes-backup.data";
/** File name of the canonical layout's side record. */
export const SIDE_FILE = "qubes-backup.side";

/** The run tag of run `id`: `qd-run:<id>`. */
export function runTag(id: string): string {
  return `${RUN_TAG_PREFIX}${id}`;
}

/** The tag of data part `k` (k ≥ 1): `qd-part:<k>`. */
export function partTag(k: number): string {
  return `${PART_TAG_PREFIX}${k}`;
}

/** The run id in a snapshot's tags (the part after `qd-run:`), if it has one. */
export function runIdOf(tags: readonly string[]): string | undefined {
  return tags.find((t) => t.startsWith(RUN_TAG_PREFIX))?.slice(RUN_TAG_PREFIX.length);
}

/** A run id as ingest makes them: `<start time, UTC, compact ISO 8601>-<8 random hex digits>`. */
const RUN_ID = /^\d{8}T\d{9}Z-([0-9a-f]{8})$/;

/**
 * A fresh run id: `<start time, UTC, compact ISO 8601>-<8 random hex digits>`,
 * e.g. `20240501T120000123Z-3f9a0c1d`; the random part is the borg short id
 * ({@link shortSnapshotId} in layout/refs.ts).
 */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, "")}-${randomUUID().slice(0, 8)}`;
}

/** The random part of a run id made by {@link newRunId}, undefined for any other (older, hand-made) id. */
export function runIdRandomPart(id: string): string | undefined {
  return RUN_ID.exec(id)?.[1];
}
