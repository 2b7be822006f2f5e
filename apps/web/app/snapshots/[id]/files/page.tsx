"use client";
import { Suspense, use, useState } from "react";
import { useSearchParams } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { Time } from "../../../../src/client/bits.tsx";
import { useTRPC } from "../../../../src/client/trpc.ts";
import { formatBytes } from "../../../../src/shared/format.ts";

/**
 * Browse a qube's volume in a snapshot and download a file or a directory
 * (as tar). The volume is read in a sandbox by the service; names are shown
 * escaped (the server's `display`), never as stored.
 */
export default function FilesPage({ params }: { params: Promise<{ id: string }> }) {
  const ref = decodeURIComponent(use(params).id);
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Browse snapshotRef={ref} />
    </Suspense>
  );
}

function join(dir: string, name: string): string {
  return `${dir.replace(/\/$/, "")}/${name}`;
}

function downloadHref(snapshotId: number, qube: string, volume: string, path: string): string {
  return `/api/files?${new URLSearchParams({ snapshotId: String(snapshotId), qube, volume, path })}`;
}

function Browse({ snapshotRef }: { snapshotRef: string }) {
  const trpc = useTRPC();
  const search = useSearchParams();
  const snap = useQuery({ ...trpc.snapshots.get.queryOptions({ id: snapshotRef }), retry: false });
  const [qube, setQube] = useState(search.get("qube") ?? "");
  const [volume, setVolume] = useState<"private" | "root">(search.get("volume") === "root" ? "root" : "private");
  const [path, setPath] = useState("/");
  const [typed, setTyped] = useState("");
  const [needle, setNeedle] = useState("");
  const s = snap.data;
  const picked = qube || s?.qubes.find((q) => q.volumes.some((v) => v.name === "private.img" || v.name === "private"))?.name || "";
  const q = s?.qubes.find((x) => x.name === picked);
  const hasRoot = !!q?.volumes.some((v) => v.name === "root" || v.name === "root.img");
  const listing = useQuery({ ...trpc.files.list.queryOptions({ snapshotId: s?.id ?? 0, qube: picked, volume, path }), enabled: !!s && !!picked, retry: false });
  const found = useQuery({ ...trpc.files.search.queryOptions({ snapshotId: s?.id ?? 0, qube: picked, volume, path, name: needle || "-" }), enabled: !!s && !!picked && needle !== "", retry: false });
  if (snap.isPending) return <p className="muted">Loading snapshot…</p>;
  if (snap.isError || !s) return <p className="error">{snap.error?.message}</p>;
  const parts = path.split("/").filter(Boolean);
  return (
    <section className="panel" data-testid="files-browser">
      <a className="backlink" href={`/snapshots/${encodeURIComponent(snapshotRef)}`}>
        ← snapshot <Time value={s.createdAt} />
      </a>
      <h1>Files in a snapshot</h1>
      <p className="muted">The volume is rebuilt from the snapshot and read in a sandbox; the first listing of a volume takes as long as reading the snapshot.</p>
      <div className="filters">
        <label>
          Qube{" "}
          <select data-testid="files-qube" value={picked} onChange={(e) => (setQube(e.target.value), setPath("/"), setVolume("private"))}>
            {s.qubes.map((x) => (
              <option key={x.name} value={x.name}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Volume{" "}
          <select data-testid="files-volume" value={volume} onChange={(e) => (setVolume(e.target.value as "private" | "root"), setPath("/"))}>
            <option value="private">private</option>
            {hasRoot && <option value="root">root</option>}
          </select>
        </label>
      </div>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setNeedle(typed.trim());
        }}
      >
        <label>
          Find by name{" "}
          <input data-testid="files-search" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="part of a name" />
        </label>
        <button type="submit">Search here</button>
        {needle && (
          <button type="button" onClick={() => (setNeedle(""), setTyped(""))}>
            Clear
          </button>
        )}
      </form>
      {needle && (
        <div data-testid="files-found">
          {found.isPending && <p className="muted">Searching…</p>}
          {found.isError && <p className="error">{found.error.message}</p>}
          {found.data && (
            <>
              <p className="muted">
                {found.data.hits.length} match{found.data.hits.length === 1 ? "" : "es"} for “{needle}” under {listing.data?.path ?? path}
                {found.data.complete ? "" : " (the search stopped early; search in a subdirectory for more)"}
              </p>
              <ul>
                {found.data.hits.map((h) => (
                  <li key={h.path} className="mono" data-testid="files-hit">
                    {h.kind === "dir" ? (
                      <button type="button" className="linklike" onClick={() => (setPath(h.path), setNeedle(""))}>
                        {h.displayPath}/
                      </button>
                    ) : (
                      h.displayPath
                    )}{" "}
                    {h.kind === "file" && <a href={downloadHref(s.id, picked, volume, h.path)}>download</a>}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      <nav className="mono" data-testid="files-path" aria-label="path">
        <button type="button" className="linklike" onClick={() => setPath("/")}>
          /
        </button>
        {parts.map((p, i) => (
          <span key={i}>
            <button type="button" className="linklike" onClick={() => setPath("/" + parts.slice(0, i + 1).join("/"))}>
              {listing.data && i === parts.length - 1 ? listing.data.path.split("/").at(-1) : p}
            </button>
            /
          </span>
        ))}
        {parts.length > 0 && (
          <a className="download" data-testid="files-download-dir" href={downloadHref(s.id, picked, volume, path)}>
            download this directory (tar)
          </a>
        )}
      </nav>
      {listing.isPending && <p className="muted" data-testid="files-loading">Reading the volume…</p>}
      {listing.isError && (
        <p className="error" data-testid="files-error">
          {listing.error.message}
        </p>
      )}
      {listing.data && (
        <table data-testid="files-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th className="num">Size</th>
              <th>Modified</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {listing.data.entries.map((e) => (
              <tr key={e.name} data-testid="files-entry" data-kind={e.kind}>
                <td className="mono">
                  {e.kind === "dir" ? (
                    <button type="button" className="linklike" onClick={() => setPath(join(path, e.name))}>
                      {e.display}/
                    </button>
                  ) : (
                    e.display
                  )}
                </td>
                <td>{e.kind}</td>
                <td className="num">{e.size === undefined ? "" : formatBytes(BigInt(e.size))}</td>
                <td>{e.mtime === undefined ? "" : <Time value={new Date(e.mtime * 1000)} />}</td>
                <td>
                  {(e.kind === "file" || e.kind === "dir") && (
                    <a data-testid="files-download" href={downloadHref(s.id, picked, volume, join(path, e.name))}>
                      download{e.kind === "dir" ? " (tar)" : ""}
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {listing.data && listing.data.total > listing.data.entries.length && (
        <p className="muted">
          Showing the first {listing.data.entries.length} of {listing.data.total} entries.
        </p>
      )}
    </section>
  );
}
