/**
 * The test kit of the workspace (`@qubes-dedup/qubes-sim/testing`): temp
 * dirs, volume hashing, restic listings, dom0 confirmation answers and real
 * backup stream files. For tests, benches and the demo only; product code
 * must not import it.
 */
export { tmpDir } from "./tmp.ts";
export { bytes } from "./bytes.ts";
export { committedVolumeHashes, sha256File, qubeVolumeHashes, volumeHashes } from "./hash.ts";
export { resticSnapshotIds, resticLocks, type ResticRepo } from "./restic.ts";
export { unansweredCalls, answerTheWaitingCall } from "./confirm.ts";
export { tree } from "./tree.ts";
export { makeBackupStreamFile, type StreamFileOptions } from "./stream.ts";
export { simulatedDom0Env, writeSimulatedPolicy, type SimulatedDom0 } from "./dom0-env.ts";
export { answerEveryDialog, answerTheDialog } from "./dialog.ts";
export { joinOuterStream, renameMember, splitOuterStream, type OuterMember } from "./outer-stream.ts";
export { restServerBinary, selfSignedCertificate, htpasswdLine, startRestServer, type RestResticServer, type RestServerMode, type RestServerOptions, type TestCertificate } from "./rest-server.ts";
export { startSshd, sshdMissing, type TestSshd } from "./sshd.ts";
export { startScript, processesMentioning, waitGone, waitLocked, exited } from "./kill.ts";
