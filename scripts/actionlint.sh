#!/bin/bash
# Runs actionlint, the GitHub Actions workflow linter, with the given arguments; builds it first
# from its Go module through the Go module proxy, with the machine's Go, when the versioned cache
# folder lacks it. No prebuilt binary is downloaded. shellcheck, when on PATH, checks `run:`
# scripts as part of the lint.
#
#   bash scripts/actionlint.sh examples/gitops/*.yml
#   ACTIONLINT_BUILD_ONLY=1 bash scripts/actionlint.sh   # build (or find) it, print its path
#
# The binary: $RUNNER_FLEET_CACHE/actionlint-$ACTIONLINT_VERSION-go<v>/actionlint
# (RUNNER_FLEET_CACHE defaults to /var/cache/runner-fleet). Build messages go to stderr, so
# stdout is actionlint's alone.
set -euo pipefail
ACTIONLINT_VERSION=1.7.12
cache=${RUNNER_FLEET_CACHE:-/var/cache/runner-fleet}
dir="$cache/actionlint-$ACTIONLINT_VERSION-$(GOTOOLCHAIN=local go env GOVERSION)"
bin="$dir/actionlint"

if [ ! -x "$bin" ]; then
  T0=$(date +%s)
  echo "[actionlint] building github.com/rhysd/actionlint v$ACTIONLINT_VERSION into $dir" >&2
  mkdir -p "$dir"
  partial=$(mktemp -d "$dir/.build.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  # go install, not go build: `go install mod@version` needs no go.mod around it. GOFLAGS is set
  # whole so a -mod=vendor or similar from the caller's environment cannot interfere.
  GOBIN=$partial CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
    go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" >&2
  mv "$partial/actionlint" "$bin"
  echo "[actionlint] built in $(($(date +%s) - T0))s" >&2
fi

if [ -n "${ACTIONLINT_BUILD_ONLY:-}" ]; then
  echo "$bin"
  exit 0
fi
exec "$bin" "$@"
