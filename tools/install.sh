#!/usr/bin/env bash
# Installs everything qubes-dedup needs on a fresh Debian 12 machine with
# Node 20: Debian packages (only those missing), npm dependencies, the
# generated Prisma client, and the built executables.
set -euo pipefail
cd "$(dirname "$0")/.."
# No telemetry or update checks: the machines here have no internet.
export DEBIAN_FRONTEND=noninteractive NEXT_TELEMETRY_DISABLED=1 NX_NO_CLOUD=true CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1

# command:package pairs (rpmbuild builds and tests the RPMs, dpkg-deb the .deb,
# systemd-analyze checks its user unit, bwrap sandboxes the file browser's parser,
# debugfs and mkfs.ext4 read and build ext4 images, sshd serves borg in tests); GNU tar is
# checked by its version string below.
need=()
for pair in restic:restic borg:borgbackup scrypt:scrypt chromium:chromium python3:python3 rclone:rclone rpmbuild:rpm dpkg-deb:dpkg systemd-analyze:systemd bwrap:bubblewrap debugfs:e2fsprogs mkfs.ext4:e2fsprogs sshd:openssh-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
tar --version 2>/dev/null | grep -q 'GNU tar' || need+=(tar)
if ((${#need[@]})); then
  echo "install: Debian packages missing: ${need[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${need[@]}"
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("install: Node "+process.versions.node+" is too old: install Node >= 20.19"); process.exit(1) }'
npm ci --no-audit --no-fund
npx prisma generate
# restic 0.18.0 and borg 1.4.0 beside the system's, for the engine tier of npm test only:
# the demo and the product do not need them (tools/test-engines.sh fetches them again if missing)
bash tools/engines.sh >/dev/null || echo "install: restic 0.18.0 / borg 1.4.0 could not be fetched (only npm test's engine tier needs them); everything else is installed" >&2
