#!/usr/bin/env bash
# Runs every test: the import boundaries between projects (dependency-cruiser,
# rules in .dependency-cruiser.cjs), each project's unit and integration tests (vitest, real
# restic/borg/scrypt/tar), then the Playwright tests in Debian's Chromium.
# Type errors fail the run too. The Nx cache is skipped: every run really
# runs every test; each project is built before its tests (Nx dependsOn).
# Two projects' tests run at a time (--parallel=2): most of a test waits on
# engines and pipes, and one at a time left half of the 2 cores idle.
# That main run uses Debian 12's restic 0.14.0 and borg 1.2.4. Two tiers follow:
# - the slow tier: apps/cli/test/kill-trials.test.ts (the bundled ingest and
#   dump killed with SIGKILL at random moments until QUBES_DEDUP_TRIALS,
#   default 20, kills per engine hit a running process, plus
#   QUBES_DEDUP_TERM_TRIALS, here default 2, SIGTERMs; restic and borg at the
#   same time). It ends with the line `kill trials: {"restic":{"faults":…,
#   "badOffered":0,"manualRepair":0,"staleLocksAfterNext":0,…},"borg":{…}} in
#   N s`. QUBES_DEDUP_SLOW=0 skips it.
# - the engine tier (tools/test-engines.sh): the engine tests and the demo
#   again on restic 0.18.0 and borg 1.4.0; QUBES_DEDUP_ENGINE_TIER=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 NX_NO_CLOUD=true NX_DAEMON=false CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
slow="${QUBES_DEDUP_SLOW:-1}"
# The tests' restic repositories get a low-cost key after `init`
# (tools/test/restic-cheap-kdf): opening one then takes milliseconds instead of
# the ~0.5 s of CPU restic's calibrated scrypt costs on every engine run. The
# demo and the bench keep restic's own key.
export QUBES_DEDUP_RESTIC_REAL="${QUBES_DEDUP_RESTIC_REAL:-${QUBES_DEDUP_RESTIC:-restic}}"
export QUBES_DEDUP_RESTIC="$PWD/tools/test/restic-cheap-kdf"
npm run -s boundaries
npx nx run-many -t typecheck --outputStyle=stream --skip-nx-cache
# the main run never runs the slow tier (it is the next step)
env -u QUBES_DEDUP_SLOW npx nx run-many -t test --outputStyle=stream --skip-nx-cache --parallel=2
if [ "$slow" != 0 ]; then
  echo "slow tier: kill trials (apps/cli/test/kill-trials.test.ts)"
  (cd apps/cli && QUBES_DEDUP_SLOW=1 QUBES_DEDUP_TERM_TRIALS="${QUBES_DEDUP_TERM_TRIALS:-2}" npx vitest run test/kill-trials.test.ts)
fi
if [ "${QUBES_DEDUP_ENGINE_TIER:-1}" != 0 ]; then env -u QUBES_DEDUP_SLOW bash tools/test-engines.sh; fi
