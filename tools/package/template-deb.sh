#!/usr/bin/env bash
# Builds dist/packages/qubes-dedup_<version>_all.deb for Debian templates of
# the backup qube: builds the CLI, the dashboard and the shim (skipped with
# --no-build, when they are fresh), lays out the files with
# tools/package/template-files.ts and runs dpkg-deb with root as owner.
# usage: bash tools/package/template-deb.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_NO_CLOUD=true NX_DAEMON=false NEXT_TELEMETRY_DISABLED=1
command -v dpkg-deb >/dev/null || { echo "template-deb: dpkg-deb is missing; build on Debian (package dpkg)" >&2; exit 1; }
version=$(node -p 'require("./package.json").version')
if [ "${1:-}" != --no-build ]; then
  npx nx run-many -t build -p @qubes-dedup/cli,@qubes-dedup/shim --outputStyle=static
  # The dashboard: next build (not cached by nx) unless its standalone
  # server is newer than every source it is built from. libs/db's
  # migrations.ts is rewritten by every build from prisma/migrations, so
  # the folder is compared instead.
  server=apps/web/.next/standalone/apps/web/server.js
  if [ ! -f "$server" ] || [ -n "$(find apps/web/app apps/web/src apps/web/next.config.ts apps/web/instrumentation.ts libs/service/src libs/db/src libs/pipeline/src libs/protocol/src prisma/migrations package-lock.json -newer "$server" ! -path libs/db/src/migrations.ts -print -quit)" ]; then
    (cd apps/web && npx next build)
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx tsx tools/package/template-files.ts "$work/root" >/dev/null
mkdir -m 0755 "$work/root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$work/root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" packaging/template/debian/control >"$work/root/DEBIAN/control"
chmod 0644 "$work/root/DEBIAN/control"
mkdir -p dist/packages
deb="dist/packages/qubes-dedup_${version}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$work/root" "$deb" >/dev/null
echo "built $deb ($(stat -c %s "$deb") bytes)"
