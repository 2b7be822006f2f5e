#!/usr/bin/env bash
# The engine tier of `npm test` (tools/test.sh): the engine tests again on the
# versions Debian 13 and Fedora templates ship, restic 0.18.0 and borg 1.4.0
# (fetched by tools/engines.sh beside Debian 12's restic 0.14.0 and borg
# 1.2.4, which the main run uses): libs/pipeline and libs/service (apps/cli
# too with QUBES_DEDUP_ENGINE_TIER_CLI=1), then the demo end to end with each engine. The server tests
# (libs/service/test/rest-server.test.ts, borg-ssh.test.ts) run only here. QUBES_DEDUP_RESTIC /
# QUBES_DEDUP_BORG point the product and the tests at those binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t bins < <(bash tools/engines.sh)
# restic runs behind tools/test/restic-cheap-kdf, as in the main run (tools/test.sh)
export QUBES_DEDUP_RESTIC_REAL=${bins[0]} QUBES_DEDUP_RESTIC="$PWD/tools/test/restic-cheap-kdf" QUBES_DEDUP_BORG=${bins[1]}
# the server tests (restic's rest-server, borg over SSH) run here only, on these versions
export QUBES_DEDUP_REST_SERVER=${bins[2]} QUBES_DEDUP_SERVER_TESTS=1
echo "engine tier: $("$QUBES_DEDUP_RESTIC" version | cut -d' ' -f1-2), $("$QUBES_DEDUP_BORG" --version)"
# apps/cli's tests, which drive the same engine calls through the bundle, run on these versions only with
# QUBES_DEDUP_ENGINE_TIER_CLI=1: without them the tier fits CI's time with the per-qube layout's extra engine starts
projects=(@qubes-dedup/pipeline @qubes-dedup/service)
if [ "${QUBES_DEDUP_ENGINE_TIER_CLI:-0}" = 1 ]; then projects+=(@qubes-dedup/cli); fi
npx nx run-many -t test -p "${projects[@]}" --outputStyle=stream --skip-nx-cache --parallel=2
npx nx run @qubes-dedup/demo:build --outputStyle=static
QUBES_DEDUP_RESTIC=$QUBES_DEDUP_RESTIC_REAL node apps/demo/dist/qubes-dedup-demo.mjs --json --workdir var/demo-engines/restic >/dev/null
node apps/demo/dist/qubes-dedup-demo.mjs --json --small --engine borg --workdir var/demo-engines/borg >/dev/null
echo "engine tier: the demo restored IDENTICAL with restic 0.18.0 and with borg 1.4.0"
