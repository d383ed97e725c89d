#!/bin/bash
# The test command (`npm test`): lint, typecheck, then every mocha suite, unit to end-to-end.
# The end-to-end suites need the toolchain (`npm run toolchain`) and the local OpenStack
# (`npm run cloud:up`); they fail, never skip, when those are missing.
# With arguments, runs only mocha on the given test files.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
T0=$(date +%s)
step() { echo "[test +$(($(date +%s) - T0))s] $*"; }
if [ $# -gt 0 ]; then
  step "mocha $*"
  npx mocha "$@"
  exit
fi
step "lint"
npx eslint .
npx prettier --check .
step "typecheck"
npx tsc -p .
# Pulumi mocks are process-global, so the mock suites get a process of their own.
step "mocha: mock suites"
npx mocha 'tests/**/*.mocks.test.ts'
step "mocha: unit, provider and end-to-end suites"
npx mocha --ignore 'tests/**/*.mocks.test.ts' 'tests/**/*.test.ts'
step "done"
