#!/bin/bash
# The runner-fleet test agent's run.sh: starts bin/Runner.Listener as GitHub's run.sh does and
# passes SIGINT/SIGTERM on to it, so `pkill Runner.Listener` and a shutdown both reach the agent.
#   ./run.sh --jitconfig <encoded_jit_config>   a just-in-time (ephemeral) runner
#   ./run.sh                                    the runner config.sh registered
# Exits with the agent's exit code: the job's exit code for an ephemeral runner (see README.md).
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
listener=
# shellcheck disable=SC2317 # called by the traps
forward() {
  [ -n "$listener" ] && kill "-$1" "$listener" 2>/dev/null
}
trap 'forward TERM' TERM
trap 'forward INT' INT
"$dir/bin/Runner.Listener" run "$@" &
listener=$!
# `wait` returns early when a trapped signal arrives: wait again until the listener has exited.
while :; do
  wait "$listener"
  rc=$?
  kill -0 "$listener" 2>/dev/null || break
done
exit "$rc"
