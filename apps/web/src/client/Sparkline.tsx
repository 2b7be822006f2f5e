"use client";
import { Line, LineChart, Tooltip, YAxis } from "recharts";
import { formatBytes, formatTime } from "../shared/format.ts";

/** A qube's size (bytes) in each snapshot holding it, oldest left: a small line with the sizes on hover. */
export function Sparkline({ sizes, testId }: { sizes: { at: Date; bytes: bigint }[]; testId?: string }) {
  if (sizes.length === 0) return <span className="muted">—</span>;
  const data = sizes.map((s) => ({ t: s.at.getTime(), bytes: Number(s.bytes) }));
  const last = sizes[sizes.length - 1]!;
  return (
    <span className="spark" data-testid={testId} data-points={sizes.length} title={`${sizes.length} backup(s); last ${formatBytes(last.bytes)}`}>
      <LineChart width={110} height={28} data={data} margin={{ top: 3, right: 3, bottom: 3, left: 3 }}>
        <YAxis hide domain={[0, "dataMax"]} />
        <Tooltip labelFormatter={(_l, p) => (p[0] ? formatTime(new Date(Number(p[0].payload.t))) : "")} formatter={(v) => formatBytes(Number(v))} />
        <Line dataKey="bytes" name="size" stroke="#3b5bdb" dot={data.length < 12} isAnimationActive={false} />
      </LineChart>
      <span className="spark-last">{formatBytes(last.bytes)}</span>
    </span>
  );
}
