/** Next.js start hook: creates the session token and starts the scheduler loop. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { readOrCreateToken, tokenFile } = await import("@qubes-dedup/service");
  const file = tokenFile();
  readOrCreateToken(file);
  console.log(`qubes-dedup dashboard: session token in ${file} (print it with "qubes-dedup web-token")`);
  if (process.env.QUBES_DEDUP_NO_SCHEDULER) return;
  const { startScheduler, processDatabase } = await import("@qubes-dedup/service");
  startScheduler(processDatabase);
}
