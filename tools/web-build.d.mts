/** The monorepo root. */
export const ROOT: string;
/** apps/web. */
export const WEB_DIR: string;
/** True when apps/web/.next/BUILD_ID is missing or older than a source of the app or of a lib. */
export function webBuildStale(): boolean;
