#!/usr/bin/env bash
# Fetches the newer engine versions the backup qube's templates ship, next to
# the system's own (Debian 12: restic 0.14, borg 1.2.4), without installing
# them: restic 0.18.0 from Debian 13 (trixie) and borg 1.4.0 from
# bookworm-backports, downloaded with apt-get through a private source list
# and unpacked with dpkg -x under var/engines/. borg runs with its own
# PYTHONPATH on Debian 12's python3 and the system's python3-msgpack.
# Also restic's own REST server, rest-server 0.13.0 (Debian 13's
# restic-rest-server; Debian 12 has none), which the server tests start
# (libs/qubes-sim/src/testing/rest-server.ts; QUBES_DEDUP_REST_SERVER
# overrides the path).
#
# Prints the three commands; the tests and the product pick an engine binary
# with QUBES_DEDUP_RESTIC / QUBES_DEDUP_BORG (libs/pipeline openEngine):
#   QUBES_DEDUP_RESTIC=$PWD/var/engines/restic-0.18.0/usr/bin/restic
#   QUBES_DEDUP_BORG=$PWD/var/engines/borg-1.4.0/bin/borg
#   $PWD/var/engines/rest-server-0.13.0/usr/bin/restic-rest-server
# usage: bash tools/engines.sh   (idempotent: a working copy is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/var/engines
restic_pkg=restic/trixie
borg_pkg=borgbackup/bookworm-backports
rest_pkg=restic-rest-server/trixie
restic_bin=$root/restic-0.18.0/usr/bin/restic
borg_bin=$root/borg-1.4.0/bin/borg
rest_bin=$root/rest-server-0.13.0/usr/bin/restic-rest-server

# restic prints its version with `restic version`, borg with `borg --version`,
# rest-server with `restic-rest-server --version` ("rest-server 0.13.0 compiled with …").
# grep reads the whole output (no -q): under pipefail, grep -q leaving early
# made the engine's second write die of SIGPIPE (exit 141), about 1 run in 5.
works() { "$1" "$2" 2>/dev/null | grep -F "$3" >/dev/null; }
if works "$restic_bin" version "restic 0.18.0" && works "$borg_bin" --version "borg 1.4.0" && works "$rest_bin" --version "rest-server 0.13.0"; then
  echo "$restic_bin"; echo "$borg_bin"; echo "$rest_bin"; exit 0
fi

apt=$(mktemp -d)
trap 'rm -rf "$apt"' EXIT
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
cat >"$apt/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
EOF
# Only this private list and state: the system's sources, lists and packages stay as they are.
opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update >/dev/null || { echo "engines: apt-get update of trixie and bookworm-backports failed; check access to deb.debian.org" >&2; exit 1; }
(cd "$apt" && apt-get "${opts[@]}" download "$restic_pkg" "$borg_pkg" "$rest_pkg" >/dev/null)

rm -rf "$root/restic-0.18.0" "$root/borg-1.4.0" "$root/rest-server-0.13.0"
mkdir -p "$root"
dpkg -x "$apt"/restic_0.18.0-*.deb "$root/restic-0.18.0"
dpkg -x "$apt"/restic-rest-server_0.13.0-*.deb "$root/rest-server-0.13.0"
dpkg -x "$apt"/borgbackup_1.4.0-*.deb "$root/borg-1.4.0"
# No wrappers that exec another name: tests find engine processes by their
# name (/proc/PID/comm), so restic runs as restic and borg as the script borg.
mkdir -p "$root/borg-1.4.0/bin"
{
  echo "#!/usr/bin/python3"
  echo "# borg 1.4.0 unpacked from bookworm-backports by tools/engines.sh"
  echo "import sys; sys.path.insert(0, \"$root/borg-1.4.0/usr/lib/python3/dist-packages\")"
  tail -n +2 "$root/borg-1.4.0/usr/bin/borg"
} >"$borg_bin"
chmod 0755 "$borg_bin"
works "$restic_bin" version "restic 0.18.0" || { echo "engines: $restic_bin does not run" >&2; exit 1; }
works "$borg_bin" --version "borg 1.4.0" || { echo "engines: $borg_bin does not run (python3-msgpack missing? apt-get install borgbackup)" >&2; exit 1; }
works "$rest_bin" --version "rest-server 0.13.0" || { echo "engines: $rest_bin does not run" >&2; exit 1; }
echo "$restic_bin"; echo "$borg_bin"; echo "$rest_bin"
