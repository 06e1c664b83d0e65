#!/usr/bin/env bash
# Brings a Node.js release from the npm registry (the node-linux-<arch> package: the official binary,
# no install scripts) into a cache directory, and prints the directory of its `node`. CI runs the
# suite on the newest LTS with it where the machine's own Node is older.
# Usage: bash scripts/node-lts.sh [version]   (default: the LTS below)
set -euo pipefail
version="${1:-${NODE_LTS:-24.21.0}}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
dir="${XDG_CACHE_HOME:-$HOME/.cache}/agentry-node/$version-$arch"
if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  mkdir -p "$dir"
  tar xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$dir" --strip-components=1
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
