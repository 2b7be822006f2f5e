#!/usr/bin/env bash
# Builds dist/packages/qubes-dedup-<version>-1.noarch.rpm for Fedora templates
# of the backup qube: the same files as the .deb (tools/package/template-files.ts,
# after the builds template-deb.sh runs; skipped with --no-build), packed by
# rpmbuild from packaging/template/fedora/qubes-dedup.spec.
# usage: bash tools/package/template-rpm.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v rpmbuild >/dev/null || { echo "template-rpm: rpmbuild is missing; install the rpm package (apt-get install rpm)" >&2; exit 1; }
version=$(node -p 'require("./package.json").version')
if [ "${1:-}" != --no-build ]; then
  bash tools/package/template-build.sh
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx tsx tools/package/template-files.ts "$work/stage" >/dev/null
rpmbuild -bb --quiet \
  --define "_topdir $work/rpmbuild" \
  --define "qdd_version $version" \
  --define "qdd_stage $work/stage" \
  packaging/template/fedora/qubes-dedup.spec
mkdir -p dist/packages
rpm="qubes-dedup-$version-1.noarch.rpm"
cp "$work/rpmbuild/RPMS/noarch/$rpm" "dist/packages/$rpm"
echo "built dist/packages/$rpm ($(stat -c %s "dist/packages/$rpm") bytes)"
