/** The repository last picked in this browser (localStorage), shared by every page with a repository selector. */
export { pickRepository } from "../shared/format.ts";

const KEY = "qubes-dedup.repository";

/** The repository name last picked or used here, or null. */
export function lastUsedRepository(): string | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Remembers `name` as the repository to start with next time. */
export function rememberRepository(name: string): void {
  try {
    window.localStorage.setItem(KEY, name);
  } catch {
    // storage disabled: pages fall back to "default"
  }
}
