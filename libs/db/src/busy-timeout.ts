/**
 * How long one SQLite statement waits for another connection's lock before
 * failing with SQLITE_BUSY, in milliseconds. The CLI, the dashboard and the
 * qrexec services write the same index file; without a busy timeout libsql
 * fails a write that meets another writer's lock at once.
 */
export const BUSY_TIMEOUT_MS = 10_000;
