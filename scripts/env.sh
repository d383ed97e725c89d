# Sourced by the scripts: Node 24 and the locally built Pulumi toolchain first on PATH.
# shellcheck shell=bash
_rf_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PATH="$(bash "$_rf_root/scripts/node.sh"):$PATH"
export PATH
# shellcheck source=scripts/toolchain-versions.sh
. "$_rf_root/scripts/toolchain-versions.sh"
export TOOLCHAIN_DIR RUNNER_FLEET_CACHE
if [ -f "$TOOLCHAIN_DIR/env.sh" ]; then
  # shellcheck disable=SC1091
  . "$TOOLCHAIN_DIR/env.sh"
fi
