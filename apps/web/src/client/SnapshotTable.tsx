"use client";
import type { SnapshotRow } from "../server/snapshots.ts";
import { formatRatio } from "../shared/format.ts";
import { Bytes, Time } from "./bits.tsx";

/** The snapshots of a repository, newest first. */
export function SnapshotTable({ rows }: { rows: SnapshotRow[] }) {
  return (
    <table className="snapshots" data-testid="snapshots">
      <thead>
        <tr>
          <th>Time</th>
          <th>Qubes</th>
          <th className="num">Logical size</th>
          <th className="num" title="Bytes this snapshot added to the repository">
            Added
          </th>
          <th className="num" title="Repository size right after this snapshot">
            Repository
          </th>
          <th
            className="num"
            title="Logical bytes of all snapshots up to this one ÷ repository size after it"
          >
            Dedup ratio
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.id} data-testid="snapshot-row" data-snapshot={s.engineSnapshotId}>
            <td>
              <Time value={s.createdAt} />
              {s.compressed && <span className="badge badge-failed" title="Compressed backups do not deduplicate">compressed</span>}
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
