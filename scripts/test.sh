#!/bin/bash
# The test command (`npm test`): lint, typecheck, then every mocha suite, unit to end-to-end.
# The end-to-end suites need the toolchain (`npm run toolchain`) and the local OpenStack
# (`npm run cloud:up`); they fail, never skip, when those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
T0=$(date +%s)
step() { echo "[test +$(($(date +%s) - T0))s] $*"; }
step "lint" && npx eslint . && npx prettier --check . >/dev/null
step "typecheck" && npx tsc -p .
step "mocha" && npx mocha "${@:-tests/**/*.test.ts}"
step "done"
