/**
 * The qubes-dedup `scrypt` shim: trailer format of authenticated
 * pass-through (for the pipeline, which strips trailers, and for dom0, which
 * verifies them), the project passphrase format, Qubes' call shapes and the
 * pure install plan used by `qubes-dedup-agent shim install|uninstall|status`.
 * The executable itself is src/main.ts, bundled to dist/scrypt.
 */
export {
  TRAILER_MAGIC,
  TRAILER_SIZE,
  TrailerError,
  TrailerVerifier,
  TrailerWriter,
  makeTrailer,
  macKey,
  parseTrailer,
  trailerSize,
  type Trailer,
} from "./trailer.ts";
export { PROJECT_PASSPHRASE_RE, isProjectPassphraseLine, newProjectPassphrase } from "./passphrase.ts";
export { parseCall, realScryptArgs, type ScryptCall } from "./call.ts";
export {
  DROP_IN_FILE,
  InstallConflictError,
  MANIFEST_FILE,
  REAL_SCRYPT_FILE,
  SHIM_DIR,
  SHIM_FILE,
  SYSTEMD_DEFAULT_PATH,
  describeOp,
  dropInText,
  installStatus,
  parseManifest,
  planInstall,
  planUninstall,
  wantedFiles,
  type InstallOp,
  type Manifest,
  type PathState,
  type StatusLine,
  type WantedFile,
} from "./install-plan.ts";
