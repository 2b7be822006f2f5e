#!/usr/bin/env bash
# Builds what the backup-qube packages (.deb and .rpm) hold: the CLI bundle,
# the shim, and the dashboard's standalone server. next build is not cached
# by nx, so it runs only when the standalone server is older than a source it
# is built from (libs/db's migrations.ts is rewritten by every build from
# prisma/migrations, so the folder is compared instead).
# usage: bash tools/package/template-build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_NO_CLOUD=true NX_DAEMON=false NEXT_TELEMETRY_DISABLED=1
npx nx run-many -t build -p @qubes-dedup/cli,@qubes-dedup/shim --outputStyle=static
server=apps/web/.next/standalone/apps/web/server.js
if [ ! -f "$server" ] || [ -n "$(find apps/web/app apps/web/src apps/web/next.config.ts apps/web/instrumentation.ts libs/service/src libs/db/src libs/pipeline/src libs/protocol/src prisma/migrations package-lock.json -newer "$server" ! -path libs/db/src/migrations.ts -print -quit)" ]; then
  (cd apps/web && npx next build)
fi
