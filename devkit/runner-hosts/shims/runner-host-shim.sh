#!/bin/bash
# One shim for the system commands a runner's userdata calls on a real VM. The simulator links
# each command name (apt-get, systemctl, su, ...) to this script in a folder first on the
# userdata's PATH; the name it was called by says what to do. Every call is appended to
# /run/runner-host/shim-calls.log (the host folder's shim-calls.log) as one JSON line:
#   {"time": "<ISO 8601>", "command": "apt-get", "args": ["install", "-y", "jq"], "uid": 0}
# Runs inside the host's namespaces: its own PID namespace (pkill and `kill -1` reach only this
# host's processes), UTS namespace (hostname) and mount namespace (/etc is copy-on-write).
host=${RUNNER_HOST_DIR:-/run/runner-host} # overridden by the shim tests only
cmd=$(basename "$0")

record() {
  jq -cn --arg command "$cmd" --argjson uid "$(id -u)" \
    '{time: (now | todate), command: $command, args: $ARGS.positional, uid: $uid}' \
    --args -- "$@" >>"$host/shim-calls.log" 2>/dev/null ||
    printf '{"command":"%s","args":[],"note":"jq failed"}\n' "$cmd" >>"$host/shim-calls.log"
}

# Re-reads sshd's configuration and host keys (sshd re-executes itself on SIGHUP).
reload_sshd() {
  local pid
  pid=$(cat "$host/sshd.pid" 2>/dev/null) && [ -n "$pid" ] && kill -HUP "$pid" 2>/dev/null
  return 0
}

# Powers the host off: the runner and everything else of this host get SIGTERM, then SIGKILL
# after 5 s; /run/runner-host/powered-off tells the simulator. The namespace stays until Nova
# deletes the server.
power_off() {
  jq -cn --arg by "$cmd" '{time: (now | todate), by: $by, args: $ARGS.positional}' \
    --args -- "$@" >"$host/powered-off" 2>/dev/null || echo "{}" >"$host/powered-off"
  kill -TERM -1 2>/dev/null
  local p left
  for _ in $(seq 1 50); do
    left=""
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [ "$p" = 1 ] || [ "$p" = $$ ] || left=1
    done
    [ -z "$left" ] && break
    sleep 0.1
  done
  kill -KILL -1 2>/dev/null
  exit 0
}

# shutdown's time argument in seconds: now / +0 -> 0, +M -> M minutes, hh:mm -> until then.
delay_seconds() {
  case ${1:-now} in
    now | +0) echo 0 ;;
    +[0-9]*) echo $((${1#+} * 60)) ;;
    [0-9]*:[0-9]*)
      local target
      target=$(date -d "$1" +%s 2>/dev/null) || target=$(date +%s)
      [ "$target" -lt "$(date +%s)" ] && target=$((target + 86400))
      echo $((target - $(date +%s)))
      ;;
    *) echo 0 ;;
  esac
}

# run_as USER LOGIN COMMAND...: the command as root (the simulator runs the runner as root), with
# the user's HOME/USER/LOGNAME, in the same namespaces. LOGIN=1 starts in the home folder.
run_as() {
  local user=$1 login=$2 home
  shift 2
  [ -n "$user" ] || user=root
  home=$(getent passwd "$user" | cut -d: -f6)
  [ -n "$home" ] || home=/home/$user
  export HOME=$home USER=$user LOGNAME=$user
  if [ "$login" = 1 ]; then cd "$home" 2>/dev/null || true; fi
  exec "$@"
}

# su [-|-l|--login] [-s SHELL] [-c COMMAND] [USER [ARGS...]]
su_like() {
  local user="" login=0 command="" has_command="" shell=/bin/bash
  while [ $# -gt 0 ]; do
    case $1 in
      - | -l | --login) login=1 ;;
      -c | --command)
        command=${2-}
        has_command=1
        shift
        ;;
      --command=*)
        command=${1#*=}
        has_command=1
        ;;
      -s | --shell)
        shell=${2:-/bin/bash}
        shift
        ;;
      --shell=*) shell=${1#*=} ;;
      -m | -p | --preserve-environment | -P | --pty) ;;
      -g | -G | --group | --supp-group) shift ;;
      --)
        shift
        [ -z "$user" ] && [ $# -gt 0 ] && user=$1 && shift
        break
        ;;
      -*) ;;
      *)
        if [ -z "$user" ]; then
          user=$1
        else
          break
        fi
        ;;
    esac
    shift
  done
  if [ -n "$has_command" ]; then
    run_as "$user" "$login" "$shell" -c "$command" "$@"
  fi
  run_as "$user" "$login" "$shell" "$@"
}

record "$@"
case $cmd in
  apt-get | apt | snap | nft | docker | usermod | useradd | groupadd | cloud-init | timedatectl | \
    update-grub | modprobe | sysctl | ufw | iptables | ip6tables | loginctl)
    case "$cmd ${1:-}" in
      "cloud-init status") echo "status: done" ;;
    esac
    exit 0
    ;;
  hostnamectl)
    case ${1:-} in
      set-hostname | hostname)
        if [ -n "${2:-}" ]; then
          hostname "$2" && echo "$2" >/etc/hostname
        else
          hostname
        fi
        ;;
      *) echo "Static hostname: $(hostname)" ;;
    esac
    exit 0
    ;;
  systemctl)
    verb="" units=()
    for a in "$@"; do
      case $a in
        -*) ;;
        *) if [ -z "$verb" ]; then verb=$a; else units+=("$a"); fi ;;
      esac
    done
    case $verb in
      restart | reload | try-restart | reload-or-restart | try-reload-or-restart | start)
        for u in "${units[@]}"; do
          case $u in ssh | sshd | ssh.service | sshd.service) reload_sshd ;; esac
        done
        ;;
      is-active) echo active ;;
      is-enabled) echo enabled ;;
      poweroff | halt) power_off "$@" ;;
    esac
    exit 0
    ;;
  shutdown | poweroff | halt)
    reboot="" cancel="" when=""
    for a in "$@"; do
      case $a in
        -r | --reboot) reboot=1 ;;
        -c) cancel=1 ;;
        -*) ;;
        *) [ -z "$when" ] && when=$a ;;
      esac
    done
    if [ -n "$cancel" ]; then
      pid=$(cat "$host/shutdown.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
      rm -f "$host/shutdown.pid"
      exit 0
    fi
    # A reboot is recorded only: the simulated host goes on as it is.
    [ -n "$reboot" ] && exit 0
    [ "$cmd" = shutdown ] || when=now
    delay=$(delay_seconds "$when")
    if [ "$delay" -le 0 ]; then power_off "$@"; fi
    (
      sleep "$delay"
      power_off "$@"
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$host/shutdown.pid"
    echo "Shutdown scheduled in $delay s, use 'shutdown -c' to cancel."
    exit 0
    ;;
  reboot) exit 0 ;;
  pkill)
    # The real pkill, confined to this host's processes by its PID namespace and /proc: a pattern
    # such as Runner.Listener or run.sh really stops this host's agent, nothing else.
    exec /usr/bin/pkill "$@"
    ;;
  su) su_like "$@" ;;
  runuser)
    # runuser -u USER [--] COMMAND [ARGS...]   or   runuser [-l] USER [-c COMMAND]
    if [ "${1:-}" = -u ] || [[ ${1:-} == --user=* ]]; then
      if [ "$1" = -u ]; then
        user=${2-}
        shift 2
      else
        user=${1#*=}
        shift
      fi
      [ "${1:-}" = -- ] && shift
      run_as "$user" 0 "$@"
    fi
    su_like "$@"
    ;;
  sudo)
    # sudo [-u USER] [-i] [-H] [-E] [--] COMMAND [ARGS...]
    user=root login=0
    while [ $# -gt 0 ]; do
      case $1 in
        -u)
          user=${2-}
          shift
          ;;
        -u*) user=${1#-u} ;;
        -i | --login) login=1 ;;
        -iu)
          login=1
          user=${2-}
          shift
          ;;
        --)
          shift
          break
          ;;
        -*) ;;
        *) break ;;
      esac
      shift
    done
    if [ $# -eq 0 ]; then run_as "$user" "$login" /bin/bash; fi
    if [ "$login" = 1 ]; then run_as "$user" 1 /bin/bash -c "$*"; fi
    run_as "$user" "$login" "$@"
    ;;
  *)
    exit 0
    ;;
esac
