#!/usr/bin/env bash
# Runs every test: the import boundaries between projects (dependency-cruiser,
# rules in .dependency-cruiser.cjs), each project's unit and integration tests (vitest, real
# restic/borg/scrypt/tar), then the Playwright tests in Debian's Chromium.
# Type errors fail the run too. The Nx cache is skipped: every run really
# runs every test; each project is built before its tests (Nx dependsOn).
# QUBES_DEDUP_SLOW=1 adds the slow tier: apps/cli/test/kill-trials.test.ts
# (ingest and dump killed at random moments, QUBES_DEDUP_TRIALS per engine).
# Then the engine tier (tools/test-engines.sh): the engine tests and the demo
# again on restic 0.18.0 and borg 1.4.0; QUBES_DEDUP_ENGINE_TIER=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 NX_NO_CLOUD=true NX_DAEMON=false CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
npm run -s boundaries
npx nx run-many -t typecheck --outputStyle=stream --skip-nx-cache
npx nx run-many -t test --outputStyle=stream --skip-nx-cache
if [ "${QUBES_DEDUP_ENGINE_TIER:-1}" != 0 ]; then bash tools/test-engines.sh; fi
