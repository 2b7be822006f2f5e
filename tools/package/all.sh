#!/usr/bin/env bash
# `npm run package`: builds every package into dist/packages/, one script each.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/package/dom0-rpm.sh
bash tools/package/template-build.sh
bash tools/package/template-deb.sh --no-build
bash tools/package/template-rpm.sh --no-build
