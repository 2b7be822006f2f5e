#!/usr/bin/env bash
# One command on a fresh machine: install everything, then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
npm run demo -- "$@"
