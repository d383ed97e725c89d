#!/bin/bash
# `npm run sandbox`: see a fleet run on this machine. Brings up the local OpenStack, a GitHub
# double and simulated runner hosts, then runs the fleet program on a `sandbox` stack (3 idle
# runners, up to 8) and one job through its whole lifecycle, then starts the reconciler beside the
# double and shows it absorbing a burst of 5 jobs. Again: converges without change. `-- down` removes
# everything it made. Needs Debian/Ubuntu and root (network namespaces, OpenStack services).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
phase() { echo "=== [sandbox +$(($(date +%s) - T0))s] $*"; }
if [ "${1:-up}" = down ]; then
  . scripts/env.sh
  phase "removing the sandbox"
  npx tsx sandbox/sandbox.ts down
  phase "stopping the local OpenStack"
  bash devkit/local-cloud/openstack-down.sh
  phase "done"
  exit 0
fi
phase "debian packages"
bash scripts/debian-packages.sh
. scripts/env.sh
if [ ! -d node_modules/@pulumi/pulumi ]; then
  phase "npm ci"
  npm ci --no-audit --no-fund
fi
phase "pulumi toolchain (built once, then cached)"
bash scripts/toolchain.sh
. scripts/env.sh
phase "local OpenStack"
bash devkit/local-cloud/openstack-up.sh
phase "fleet"
npx tsx sandbox/sandbox.ts up
phase "done"
