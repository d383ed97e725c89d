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
# The other suites run side by side, one file per worker process: each end-to-end suite has its
# own name prefix, GitHub double, simulated hosts and stack, so they share only the cloud. The
# longest suites are handed out first, so the run ends close to its longest suite.
step "mocha: unit, provider and end-to-end suites, ${RUNNER_FLEET_TEST_JOBS:-2} side by side"
LONGEST_FIRST=(tests/e2e/faults.test.ts tests/e2e/rollout.test.ts tests/e2e/lifecycle.test.ts
  tests/e2e/reconciler.test.ts
  tests/e2e/bad-input.test.ts tests/e2e/fleet.test.ts tests/e2e/quota.test.ts
  tests/e2e/release.test.ts)
mapfile -t REST < <(ls tests/*/*.test.ts | grep -v '\.mocks\.test\.ts$' |
  grep -vxF -f <(printf '%s\n' "${LONGEST_FIRST[@]}"))
npx mocha --parallel --jobs "${RUNNER_FLEET_TEST_JOBS:-2}" "${LONGEST_FIRST[@]}" "${REST[@]}"
step "done"
