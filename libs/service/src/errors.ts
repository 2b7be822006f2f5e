/**
 * A failure the user can act on; `message` is one sentence naming the cause
 * and the fix. CLIs print it and exit 1; the web app shows it as is.
 */
export class ServiceError extends Error {
  override name = "ServiceError";
}
