"use client";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { SnapshotRow } from "../server/snapshots.ts";
import { formatBytes, formatTime } from "../shared/format.ts";

/**
 * Repository size and cumulative logical size after each snapshot, oldest
 * left. The gap between the lines is what deduplication saves.
 */
export function SizeChart({ rows }: { rows: SnapshotRow[] }) {
  const data = [...rows].reverse().map((s) => ({
    t: s.createdAt.getTime(),
    repository: Number(s.repositoryBytes),
    logical: Number(s.cumulativeLogicalBytes),
  }));
  return (
    <div className="chart" data-testid="size-chart">
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={data} margin={{ top: 8, right: 24, bottom: 8, left: 16 }}>
          <CartesianGrid stroke="#e3e6eb" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={["dataMin", "dataMax"]}
            tickFormatter={(t: number) => new Date(t).toISOString().slice(5, 10)}
          />
          <YAxis tickFormatter={(v: number) => formatBytes(v)} width={80} />
          <Tooltip
            labelFormatter={(t) => formatTime(new Date(Number(t)))}
            formatter={(v) => formatBytes(Number(v))}
          />
          <Legend />
          <Line name="Logical size (all snapshots)" dataKey="logical" stroke="#e67700" dot isAnimationActive={false} />
          <Line name="Repository size" dataKey="repository" stroke="#3b5bdb" dot isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
