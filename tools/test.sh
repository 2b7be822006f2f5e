#!/usr/bin/env bash
# Runs every test: each project's unit and integration tests (vitest, real
# restic/borg/scrypt/tar), then the Playwright tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 NX_NO_CLOUD=true NX_DAEMON=false
npx nx run-many -t build --outputStyle=stream --skip-nx-cache
npx nx run-many -t test --outputStyle=stream --skip-nx-cache
