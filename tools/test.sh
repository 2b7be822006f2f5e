#!/usr/bin/env bash
# Runs every test: the import boundaries between projects (dependency-cruiser,
# rules in .dependency-cruiser.cjs), each project's unit and integration tests (vitest, real
# restic/borg/scrypt/tar), then the Playwright tests in Debian's Chromium.
# Type errors fail the run too. The Nx cache is skipped: every run really
# runs every test; each project is built before its tests (Nx dependsOn).
# Then the slow tier, as its own last step: apps/cli/test/kill-trials.test.ts
# (the bundled ingest and dump killed with SIGKILL at random moments until
# QUBES_DEDUP_TRIALS, default 20, kills per engine hit a running process,
# plus QUBES_DEDUP_TERM_TRIALS, here default 2, SIGTERMs; restic and borg at
# the same time; about 4 minutes on two idle cores). It ends with the line
# `kill trials: {"restic":{"faults":…,"badOffered":0,"manualRepair":0,
# "staleLocksAfterNext":0,…},"borg":{…}} in N s`. QUBES_DEDUP_SLOW=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 NX_NO_CLOUD=true NX_DAEMON=false CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
slow="${QUBES_DEDUP_SLOW:-1}"
npm run -s boundaries
npx nx run-many -t typecheck --outputStyle=stream --skip-nx-cache
# the main run never runs the slow tier (it is the next step)
env -u QUBES_DEDUP_SLOW npx nx run-many -t test --outputStyle=stream --skip-nx-cache
if [ "$slow" != 0 ]; then
  echo "slow tier: kill trials (apps/cli/test/kill-trials.test.ts)"
  (cd apps/cli && QUBES_DEDUP_SLOW=1 QUBES_DEDUP_TERM_TRIALS="${QUBES_DEDUP_TERM_TRIALS:-2}" npx vitest run test/kill-trials.test.ts)
fi
