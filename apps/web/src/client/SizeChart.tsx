"use client";
import { type XAxisTickContentProps, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { SnapshotRow } from "@qubes-dedup/service";
import { formatBytes, formatTime } from "../shared/format.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;
/** Tick steps tried, in the chosen binary unit, times a power of ten. */
const STEPS = [1, 2, 2.5, 5];
/** Most intervals on the size axis. */
const MAX_INTERVALS = 5;
/** Up to this many snapshots, each gets its own time tick. */
const POINT_TICKS = 6;

/** Size axis with round ticks in one binary unit: e.g. 267 MiB -> 0, 100, 200, 300 MiB. */
export interface SizeAxis {
  ticks: number[];
  format: (bytes: number) => string;
}

/** Round ticks from 0 to at least `maxBytes` (bytes), all labelled in the same binary unit. */
export function sizeAxis(maxBytes: number): SizeAxis {
  const max = Math.max(maxBytes, 1);
  let unit = 0;
  while (unit < UNITS.length - 1 && max >= 1024 ** (unit + 1)) unit++;
  const scale = 1024 ** unit;
  const v = max / scale;
  let step = Infinity;
  for (let p = 10 ** Math.floor(Math.log10(v / MAX_INTERVALS)); step === Infinity; p *= 10) {
    for (const s of STEPS) {
      if (s * p * MAX_INTERVALS >= v && (unit > 0 || s * p >= 1)) {
        step = s * p;
        break;
      }
    }
  }
  const n = Math.ceil(v / step - 1e-9);
  const ticks = Array.from({ length: n + 1 }, (_, i) => i * step * scale);
  const format = (b: number) => (b === 0 ? "0" : `${Number((b / scale).toFixed(2))} ${UNITS[unit]}`);
  return { ticks, format };
}

/** Date and time (UTC) lines of an x tick; seconds only when the snapshots are minutes apart. */
function timeLines(t: number, withSeconds: boolean): [string, string] {
  const iso = new Date(t).toISOString();
  return [iso.slice(0, 10), iso.slice(11, withSeconds ? 19 : 16)];
}

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
  const y = sizeAxis(Math.max(0, ...data.map((d) => Math.max(d.repository, d.logical))));
  const first = data[0]?.t ?? 0;
  const last = data[data.length - 1]?.t ?? 0;
  // One snapshot (or several in the same second) would make an empty domain.
  const domain: [number, number] = last > first ? [first, last] : [first - 3_600_000, first + 3_600_000];
  const withSeconds = last - first < 10 * 60_000;
  const tick = ({ x, y: ty, payload }: XAxisTickContentProps) => {
    const [date, time] = timeLines(Number(payload.value), withSeconds);
    return (
      <text className="time-tick" x={x} y={ty} textAnchor="middle" fill="#667085" fontSize={12}>
        <tspan x={x} dy="1em">{date}</tspan>
        <tspan x={x} dy="1.2em">{time}</tspan>
      </text>
    );
  };
  return (
    <div className="chart" data-testid="size-chart">
      <ResponsiveContainer width="100%" height={300}>
        <LineChart data={data} margin={{ top: 14, right: 28, bottom: 8, left: 8 }}>
          <CartesianGrid stroke="#e3e6eb" />
          <XAxis
            className="time-axis"
            dataKey="t"
            type="number"
            scale="time"
            domain={domain}
            ticks={data.length <= POINT_TICKS ? data.map((d) => d.t) : undefined}
            tickCount={POINT_TICKS}
            interval="preserveStartEnd"
            minTickGap={24}
            padding={{ left: 44, right: 44 }}
            height={44}
            tick={tick}
          />
          <YAxis
            className="size-axis"
            ticks={y.ticks}
            domain={[0, y.ticks[y.ticks.length - 1]!]}
            tickFormatter={y.format}
            width={84}
            tick={{ fontSize: 12, fill: "#667085" }}
          />
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
