/** Next.js start hook: creates the session token on the server's first start. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { readOrCreateToken, tokenFile } = await import("./src/server/token.ts");
  const file = tokenFile();
  readOrCreateToken(file);
  console.log(`qubes-dedup dashboard: session token in ${file} (print it with "qubes-dedup web-token")`);
}
