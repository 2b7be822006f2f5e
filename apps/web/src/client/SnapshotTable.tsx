"use client";
import type { SnapshotRow } from "@qubes-dedup/service";
import { formatRatio } from "../shared/format.ts";
import { Bytes, Time } from "./bits.tsx";

/** Columns a snapshot list can be sorted by. */
export type SortKey = "time" | "logical" | "added" | "repository" | "ratio";
export interface Sort {
  key: SortKey;
  dir: "asc" | "desc";
}

const value: Record<SortKey, (s: SnapshotRow) => number | bigint> = {
  time: (s) => s.createdAt.getTime(),
  logical: (s) => s.logicalBytes,
  added: (s) => s.addedBytes,
  repository: (s) => s.repositoryBytes,
  ratio: (s) => s.dedupRatio ?? -1,
};

/** `rows` ordered by `sort` (stable; ties keep their order). */
export function sortRows(rows: SnapshotRow[], sort: Sort): SnapshotRow[] {
  const f = value[sort.key];
  const sign = sort.dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = f(a);
    const y = f(b);
    return x < y ? -sign : x > y ? sign : 0;
  });
}

const COLUMNS: { key: SortKey; label: string; title?: string; num: boolean }[] = [
  { key: "time", label: "Time", num: false },
  { key: "logical", label: "Logical size", num: true },
  { key: "added", label: "New data", title: "Bytes of chunks the repository did not have yet, before the engine's compression (restic's data_added)", num: true },
  { key: "repository", label: "Repository", title: "Repository size right after this snapshot", num: true },
  { key: "ratio", label: "Ratio so far", title: "Logical bytes of all snapshots up to this one ÷ repository size after it: deduplication and compression together", num: true },
];

/**
 * Snapshots of a repository, in the given order. With `sort` and `onSort`,
 * clicking a column header sorts by it (again: reverses).
 */
export function SnapshotTable({ rows, sort, onSort }: { rows: SnapshotRow[]; sort?: Sort; onSort?: (s: Sort) => void }) {
  const header = (c: (typeof COLUMNS)[number]) => {
    const active = sort?.key === c.key;
    const cls = `${c.num ? "num" : ""} ${onSort ? "sortable" : ""}`.trim() || undefined;
    const click = onSort ? () => onSort({ key: c.key, dir: active && sort?.dir === "desc" ? "asc" : "desc" }) : undefined;
    return (
      <th key={c.key} className={cls} title={c.title} onClick={click} aria-sort={active ? (sort?.dir === "asc" ? "ascending" : "descending") : undefined} data-testid={`sort-${c.key}`}>
        {c.label}
        {active ? (sort?.dir === "asc" ? " ▲" : " ▼") : ""}
      </th>
    );
  };
  return (
    <table className="snapshots" data-testid="snapshots">
      <thead>
        <tr>
          {header(COLUMNS[0]!)}
          <th title="The engine's snapshot id, as qubes-dedup snapshots and qubes-dedup-agent restore use it">Snapshot</th>
          <th>Qubes</th>
          {COLUMNS.slice(1).map(header)}
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.id} data-testid="snapshot-row" data-snapshot={s.engineSnapshotId}>
            <td>
              <a href={`/snapshots/${encodeURIComponent(s.engineSnapshotId)}`} data-testid="snapshot-link">
                <Time value={s.createdAt} />
              </a>
              {s.compressed && (
                <span className="badge badge-failed" title="Compressed backups do not deduplicate">
                  compressed
                </span>
              )}
            </td>
            <td className="mono" title={s.engineSnapshotId}>
              {s.shortId}
            </td>
            <td data-testid="snapshot-qubes">{s.qubes.join(", ")}</td>
            <td className="num">
              <Bytes value={s.logicalBytes} testId="snapshot-logical" />
            </td>
            <td className="num">
              <Bytes value={s.addedBytes} testId="snapshot-added" />
            </td>
            <td className="num">
              <Bytes value={s.repositoryBytes} testId="snapshot-repository" />
            </td>
            <td className="num" data-testid="snapshot-ratio">
              {formatRatio(s.dedupRatio)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
