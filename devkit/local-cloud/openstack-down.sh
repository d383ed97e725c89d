#!/bin/bash
# Stops what openstack-up.sh started: the services with a PID file, and mariadb and rabbitmq only
# if openstack-up.sh started them. Data stays, so the next bring-up is quick.
W=${RUNNER_FLEET_OS_DIR:-/var/tmp/runner-fleet-openstack}
pids=()
for name in nova-compute nova-scheduler nova-conductor neutron-server nova-api placement glance keystone; do
  f=$W/run/$name.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  rm -f "$f"
  kill -0 "$pid" 2>/dev/null || continue
  kill -TERM "$pid" # uwsgi masters die on TERM; oslo.service parents stop their workers
  pids+=("$pid")
done
for _ in $(seq 1 60); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.5
done
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"; done
if [ -f "$W/run/rabbitmq-server.started-by-us" ]; then
  ERL_EPMD_ADDRESS=127.0.0.1 /etc/init.d/rabbitmq-server stop >/dev/null
  ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1
  rm -f "$W/run/rabbitmq-server.started-by-us"
fi
if [ -f "$W/run/mariadb.started-by-us" ]; then
  /etc/init.d/mariadb stop >/dev/null
  rm -f "$W/run/mariadb.started-by-us"
fi
exit 0
