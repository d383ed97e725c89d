#!/bin/bash
# The runner-fleet test agent's config.sh: registers the runner with a registration token, as
# GitHub's config.sh does, and saves the result as .runner for ./run.sh.
#   ./config.sh --url URL --token TOKEN [--name N] [--labels a,b] [--ephemeral] [--work DIR]
#               [--runnergroup GROUP] [--no-default-labels] [--unattended] [--replace]
#   ./config.sh remove --token TOKEN
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${1:-}" = remove ]; then
  shift
  exec "$dir/bin/Runner.Listener" remove "$@"
fi
exec "$dir/bin/Runner.Listener" configure "$@"
