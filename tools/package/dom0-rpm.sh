#!/usr/bin/env bash
# Builds dist/packages/qubes-dedup-dom0-<version>-1.noarch.rpm: bundles the
# agent and the shim (skipped with --no-build, when they are fresh), lays out
# the files with tools/package/dom0-files.ts and runs rpmbuild on
# packaging/dom0/qubes-dedup-dom0.spec. Needs rpmbuild (Debian's rpm package).
# usage: bash tools/package/dom0-rpm.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_NO_CLOUD=true NX_DAEMON=false
command -v rpmbuild >/dev/null || { echo "dom0-rpm: rpmbuild is missing; install the rpm package (apt-get install rpm)" >&2; exit 1; }
version=$(node -p 'require("./package.json").version')
if [ "${1:-}" != --no-build ]; then
  npx nx run-many -t build -p @qubes-dedup/shim,@qubes-dedup/dom0-agent --outputStyle=static
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx tsx tools/package/dom0-files.ts "$work/stage" apps/dom0-agent/dist/qubes-dedup-agent.mjs >"$work/files.list"
rpmbuild -bb --quiet \
  --define "_topdir $work/rpmbuild" \
  --define "qdd_version $version" \
  --define "qdd_stage $work/stage" \
  --define "qdd_files $work/files.list" \
  packaging/dom0/qubes-dedup-dom0.spec
mkdir -p dist/packages
rpm="qubes-dedup-dom0-$version-1.noarch.rpm"
cp "$work/rpmbuild/RPMS/noarch/$rpm" "dist/packages/$rpm"
echo "built dist/packages/$rpm ($(stat -c %s "dist/packages/$rpm") bytes)"
