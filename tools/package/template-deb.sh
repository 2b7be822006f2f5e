#!/usr/bin/env bash
# Builds dist/packages/qubes-dedup_<version>_all.deb for Debian templates of
# the backup qube: builds the CLI, the dashboard and the shim
# (tools/package/template-build.sh; skipped with --no-build), lays out the files with
# tools/package/template-files.ts and runs dpkg-deb with root as owner.
# usage: bash tools/package/template-deb.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v dpkg-deb >/dev/null || { echo "template-deb: dpkg-deb is missing; build on Debian (package dpkg)" >&2; exit 1; }
version=$(node -p 'require("./package.json").version')
if [ "${1:-}" != --no-build ]; then
  bash tools/package/template-build.sh
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
dpkg-deb --root-owner-group -Zzstd -z9 --build "$work/root" "$deb" >/dev/null
echo "built $deb ($(stat -c %s "$deb") bytes)"
