"use client";
import { use } from "react";
import { useQuery } from "@tanstack/react-query";
import { Bytes, Time } from "../../../src/client/bits.tsx";
import { useTRPC } from "../../../src/client/trpc.ts";
import { formatDuration, formatRatio } from "../../../src/shared/format.ts";
import { Verification } from "../../../src/client/Verification.tsx";

/**
 * One snapshot: identity, sizes, checksum, and its qubes with their volumes.
 * The URL names it by engine snapshot id, short id (as `qubes-dedup
 * snapshots` prints them), a unique start of either, or db row id.
 */
export default function SnapshotPage({ params }: { params: Promise<{ id: string }> }) {
  const ref = decodeURIComponent(use(params).id);
  const trpc = useTRPC();
  const snap = useQuery({ ...trpc.snapshots.get.queryOptions({ id: ref }), retry: false });
  if (snap.isPending) return <p className="muted">Loading snapshot…</p>;
  if (snap.isError) {
    return (
      <section className="empty" data-testid="no-snapshot">
        <h1>No snapshot “{ref}”</h1>
        <p className="error">{snap.error.message}</p>
        <p>
          Snapshots are named by their engine snapshot id (or its first 8 or more hex digits), as{" "}
          <code>qubes-dedup snapshots</code> and the restore page show them. <a href="/snapshots">See all snapshots</a>.
        </p>
      </section>
    );
  }
  const s = snap.data;
  return (
    <section className="panel" data-testid="snapshot-detail">
      <a className="backlink" href={`/snapshots?repo=${s.repository.id}`}>
        ← snapshots of {s.repository.name}
      </a>
      <h1>
        Snapshot <Time value={s.createdAt} />
        {s.compressed && <span className="badge badge-failed">compressed</span>}
      </h1>
      <dl className="facts">
        <dt>Repository</dt>
        <dd>
          {s.repository.name} ({s.repository.engine})
        </dd>
        <dt>Engine snapshot id</dt>
        <dd className="mono" data-testid="detail-engine-id">{s.engineSnapshotId}</dd>
        <dt>Qubes backup-id</dt>
        <dd className="mono" data-testid="detail-backup-id">{s.backupId}</dd>
        <dt>Stream SHA-256</dt>
        <dd className="mono" data-testid="detail-sha256">{s.streamSha256}</dd>
        <dt>Logical size</dt>
        <dd>
          <Bytes value={s.logicalBytes} testId="detail-logical" />
        </dd>
        <dt title="Bytes of chunks the repository did not have yet, before the engine's compression">New data (before compression)</dt>
        <dd>
          <Bytes value={s.addedBytes} testId="detail-added" />
        </dd>
        <dt>Repository size after it</dt>
        <dd>
          <Bytes value={s.repositoryBytes} testId="detail-repository" />
        </dd>
        <dt>Ratio so far</dt>
        <dd title="Logical bytes of all snapshots up to this one ÷ repository size after it: deduplication and compression together">{formatRatio(s.dedupRatio)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(s.durationSeconds)}</dd>
      </dl>
      <h2>Verification</h2>
      <Verification value={s.verification} scope="snapshot" />
      <h2>Qubes</h2>
      <table data-testid="detail-qubes">
        <thead>
          <tr>
            <th>qid</th>
            <th>Qube</th>
            <th>Backup path</th>
            <th className="num">backup-size</th>
            <th>Files</th>
          </tr>
        </thead>
        <tbody>
          {s.qubes.map((q) => (
            <tr key={q.qid} data-testid="detail-qube" data-qube={q.name}>
              <td>{q.qid}</td>
              <td>{q.name}</td>
              <td className="mono">{q.backupPath}</td>
              <td className="num">
                <Bytes value={q.backupSizeBytes} testId="detail-qube-size" />
              </td>
              <td>
                {q.volumes.map((v) => (
                  <div key={v.name} data-testid="detail-volume">
                    <code>{v.name}</code> <Bytes value={v.streamBytes} /> in {v.chunks} chunk{v.chunks === 1 ? "" : "s"}
                  </div>
                ))}
                {q.qid !== 0 && (
                  <a data-testid="detail-browse" href={`/snapshots/${encodeURIComponent(ref)}/files?qube=${encodeURIComponent(q.name)}`}>
                    browse files
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
