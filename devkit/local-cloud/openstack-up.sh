#!/bin/bash
# Brings up a small but real OpenStack (Debian bookworm's Zed packages) on 127.0.0.1 for the tests:
# Keystone, Glance, Placement, Nova with the fake virt driver, Neutron with ML2 and a binding
# driver that needs no agent. Then creates what the program needs as a tenant: a project, a
# non-admin user, a flavor, a network with a subnet and a small image.
#
# Idempotent: a running service is left alone. Everything it starts gets a PID file (or a marker,
# for the init.d services), so openstack-down.sh stops only what this script started.
# Writes $RUNNER_FLEET_OS_DIR/cloud.env with admin and tenant credentials for the tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")" && pwd)
W=${RUNNER_FLEET_OS_DIR:-/var/tmp/runner-fleet-openstack}
mkdir -p "$W/run" "$W/log" && chmod 777 "$W/run" "$W/log"
DB=mysql+pymysql://os:ospass@127.0.0.1
PY=/usr/bin/python3 # Debian's python has the OpenStack libraries; another may be first on PATH
T0=$(date +%s)
step() { echo "[openstack +$(($(date +%s) - T0))s] $*"; }

install_packages() {
  local pkgs="keystone glance placement-api nova-api nova-conductor nova-scheduler neutron-server
    python3-openstackclient rabbitmq-server mariadb-server python3-pymysql crudini uwsgi-plugin-python3"
  # shellcheck disable=SC2086
  if dpkg -s $pkgs >/dev/null 2>&1; then return; fi
  for p in keystone:keystone nova-common:nova glance-common:glance neutron-common:neutron \
    placement-common:placement; do
    echo "${p%%:*} ${p##*:}/dbconfig-install boolean false"
  done | debconf-set-selections
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $pkgs
}

running() { [ -f "$W/run/$1.pid" ] && kill -0 "$(cat "$W/run/$1.pid")" 2>/dev/null; }

# start_initd NAME: starts an init.d service unless it runs, and remembers that we started it.
start_initd() {
  if "/etc/init.d/$1" status >/dev/null 2>&1; then return; fi
  "/etc/init.d/$1" start >/dev/null
  touch "$W/run/$1.started-by-us"
}

start_db_and_queue() {
  cat >/etc/rabbitmq/rabbitmq-env.conf <<'EOF'
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
NODE_PORT=5672
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1
EOF
  export ERL_EPMD_ADDRESS=127.0.0.1
  start_initd mariadb
  start_initd rabbitmq-server
  for d in keystone glance placement nova_api nova nova_cell0 neutron; do
    mysql -e "CREATE DATABASE IF NOT EXISTS $d"
  done
  mysql -e "CREATE USER IF NOT EXISTS 'os'@'localhost' IDENTIFIED BY 'ospass';
            GRANT ALL PRIVILEGES ON *.* TO 'os'@'localhost'"
  rabbitmqctl list_users -q | grep -q '^os' || rabbitmqctl add_user os ospass >/dev/null
  rabbitmqctl set_permissions os ".*" ".*" ".*" >/dev/null
}

# uwsgi_api NAME PORT WSGI_FILE USER THREADS [PROCESSES]: one process per API keeps memory low, and
# `Connection: close` avoids the random resets of uwsgi's http-socket with keep-alive clients.
uwsgi_api() {
  running "$1" && return
  cat >"$W/$1-uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
master = true
lazy-apps = true
enable-threads = true
processes = ${6:-1}
threads = $5
buffer-size = 65535
http-socket = 127.0.0.1:$2
socket-timeout = 30
# A request stuck past 2 minutes (seen under heavy load) kills its worker instead of holding one
# of the few threads forever; the master starts a new one.
harakiri = 120
die-on-term = true
add-header = Connection: close
uid = $4
gid = $4
wsgi-file = $3
pidfile = $W/run/$1.pid
daemonize = $W/log/$1.log
EOF
  if [ "$1" = glance ]; then
    printf 'http-auto-chunked = true\nhttp-chunked-input = true\nhttp-raw-body = true\n' >>"$W/$1-uwsgi.ini"
  fi
  uwsgi_python3 --ini "$W/$1-uwsgi.ini" 2>/dev/null
}

daemon() { # USER NAME CMD...: a non-uwsgi service in the background with a PID file
  local user=$1 name=$2
  shift 2
  running "$name" && return
  su -s /bin/sh "$user" -c "nohup $* >> $W/log/$name.log 2>&1 & echo \$! > $W/run/$name.pid"
}

wait_port() {
  for _ in $(seq 1 240); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.5; done
  echo "port $1 did not open; see $W/log" >&2
  return 1
}

service_auth() { # FILE SECTION USER: keystone auth of a service user in a config section
  crudini --set "$1" "$2" www_authenticate_uri http://127.0.0.1:5000
  crudini --set "$1" "$2" auth_url http://127.0.0.1:5000
  crudini --set "$1" "$2" auth_type password
  crudini --set "$1" "$2" project_domain_name Default
  crudini --set "$1" "$2" user_domain_name Default
  crudini --set "$1" "$2" project_name service
  crudini --set "$1" "$2" username "$3"
  crudini --set "$1" "$2" password "${3}pass"
  crudini --set "$1" "$2" region_name RegionOne # Debian's default is regionOne
}

keystone() {
  local k=/etc/keystone/keystone.conf
  crudini --set $k database connection $DB/keystone
  crudini --set $k token provider fernet
  su -s /bin/sh -c "keystone-manage db_sync" keystone 2>/dev/null
  keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone
  keystone-manage credential_setup --keystone-user keystone --keystone-group keystone
  keystone-manage bootstrap --bootstrap-password adminpass \
    --bootstrap-admin-url http://127.0.0.1:5000/v3/ --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
    --bootstrap-public-url http://127.0.0.1:5000/v3/ --bootstrap-region-id RegionOne 2>/dev/null
  uwsgi_api keystone 5000 /usr/bin/keystone-wsgi-public keystone 8
  wait_port 5000
  cat >"$W/admin-openrc" <<'EOF'
export OS_USERNAME=admin OS_PASSWORD=adminpass OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default OS_AUTH_URL=http://127.0.0.1:5000/v3 OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
EOF
  # shellcheck disable=SC1091
  . "$W/admin-openrc"
  $PY "$here/service-catalog.py"
}

glance() {
  local g=/etc/glance/glance-api.conf
  crudini --set $g database connection $DB/glance
  service_auth $g keystone_authtoken glance
  crudini --set $g paste_deploy flavor keystone
  crudini --set $g DEFAULT enabled_backends fs:file
  crudini --set $g glance_store default_backend fs
  crudini --set $g fs filesystem_store_datadir /var/lib/glance/images/
  su -s /bin/sh -c "glance-manage db_sync" glance >/dev/null 2>&1
  uwsgi_api glance 9292 /usr/bin/glance-wsgi-api glance 8
}

placement() {
  local p=/etc/placement/placement.conf
  crudini --set $p placement_database connection $DB/placement
  crudini --set $p api auth_strategy keystone
  service_auth $p keystone_authtoken placement
  su -s /bin/sh -c "placement-manage db sync" placement 2>/dev/null
  uwsgi_api placement 8778 /usr/bin/placement-api placement 4
}

neutron() {
  local q=/etc/neutron/neutron.conf m=/etc/neutron/plugins/ml2/ml2_conf.ini
  local sp=/usr/lib/python3/dist-packages
  # Neutron binds no port without an L2 agent, and a server with an unbound port goes ERROR.
  cp "$here/fakebind_mech.py" $sp/fakebind_mech.py
  mkdir -p $sp/fakebind_mech-1.0.dist-info
  printf 'Metadata-Version: 2.1\nName: fakebind-mech\nVersion: 1.0\n' >$sp/fakebind_mech-1.0.dist-info/METADATA
  printf '[neutron.ml2.mechanism_drivers]\nfakebind = fakebind_mech:FakeBindMechanismDriver\n' \
    >$sp/fakebind_mech-1.0.dist-info/entry_points.txt
  crudini --set $q DEFAULT core_plugin ml2
  crudini --set $q DEFAULT service_plugins router
  crudini --set $q DEFAULT transport_url rabbit://os:ospass@127.0.0.1:5672/
  crudini --set $q DEFAULT auth_strategy keystone
  crudini --set $q DEFAULT notify_nova_on_port_status_changes true
  crudini --set $q DEFAULT notify_nova_on_port_data_changes true
  crudini --set $q DEFAULT bind_host 127.0.0.1
  crudini --set $q DEFAULT api_workers 1
  crudini --set $q DEFAULT rpc_workers 1
  crudini --set $q DEFAULT rpc_state_report_workers 0
  crudini --set $q database connection $DB/neutron
  service_auth $q keystone_authtoken neutron
  service_auth $q nova nova
  crudini --set $q oslo_concurrency lock_path /var/lib/neutron/tmp
  crudini --set $m ml2 type_drivers flat,vlan,vxlan
  crudini --set $m ml2 tenant_network_types vxlan
  crudini --set $m ml2 mechanism_drivers fakebind
  crudini --set $m ml2 extension_drivers port_security
  crudini --set $m ml2_type_flat flat_networks '*'
  crudini --set $m ml2_type_vxlan vni_ranges 1:10000
  crudini --set $m securitygroup enable_ipset false
  mkdir -p /var/lib/neutron/tmp && chown -R neutron:neutron /var/lib/neutron
  su -s /bin/sh -c "neutron-db-manage --config-file $q --config-file $m upgrade head" neutron >/dev/null 2>&1
  daemon neutron neutron-server /usr/bin/neutron-server --config-file $q --config-file $m \
    --log-file "$W/log/neutron-server.log"
}

nova() {
  local n=/etc/nova/nova.conf
  crudini --set $n DEFAULT my_ip 127.0.0.1
  crudini --set $n DEFAULT host fakehost
  crudini --set $n DEFAULT transport_url rabbit://os:ospass@127.0.0.1:5672/
  crudini --set $n DEFAULT compute_driver fake.FakeDriver
  crudini --set $n DEFAULT enabled_apis osapi_compute
  crudini --set $n api auth_strategy keystone
  crudini --set $n api_database connection $DB/nova_api
  crudini --set $n database connection $DB/nova
  service_auth $n keystone_authtoken nova
  # Debian's nova.conf ships a broken [service_user] section (`username = =`).
  crudini --del $n service_user
  crudini --set $n service_user send_service_user_token false
  service_auth $n placement placement
  service_auth $n neutron neutron
  crudini --set $n neutron service_metadata_proxy false
  crudini --set $n vnc enabled false
  crudini --set $n conductor workers 1
  crudini --set $n scheduler workers 1
  crudini --set $n scheduler discover_hosts_in_cells_interval 10
  crudini --set $n oslo_concurrency lock_path /var/lib/nova/tmp
  crudini --set $n cinder os_region_name RegionOne
  # Quotas sized for the benchmarks (hundreds of runners), not for a production tenant.
  crudini --set $n quota instances 1000
  crudini --set $n quota cores 4000
  crudini --set $n quota ram 4096000
  crudini --set $n quota key_pairs 2000
  mkdir -p /var/lib/nova/tmp /var/lib/nova/instances && chown -R nova:nova /var/lib/nova
  su -s /bin/sh -c "nova-manage api_db sync" nova >/dev/null 2>&1
  su -s /bin/sh -c "nova-manage cell_v2 map_cell0" nova >/dev/null 2>&1
  su -s /bin/sh -c "nova-manage cell_v2 list_cells" nova 2>/dev/null | grep -q ' cell1 ' ||
    su -s /bin/sh -c "nova-manage cell_v2 create_cell --name=cell1" nova 2>/dev/null
  su -s /bin/sh -c "nova-manage db sync" nova >/dev/null 2>&1
  # Processes, not threads: nova-api monkey-patches with eventlet, and eventlet under uwsgi's OS
  # threads lost a build request now and then (a server stuck in BUILD, never scheduled).
  uwsgi_api nova-api 8774 /usr/bin/nova-api-wsgi nova 1 4
  daemon nova nova-conductor /usr/bin/nova-conductor
  daemon nova nova-scheduler /usr/bin/nova-scheduler
  # nova-compute without the nova-compute package, which would pull qemu and libvirt.
  daemon nova nova-compute $PY -c "'import sys; from nova.cmd.compute import main; sys.exit(main())'"
}

wait_for_compute() {
  wait_port 9292 && wait_port 8778 && wait_port 9696 && wait_port 8774
  for _ in $(seq 1 120); do
    openstack compute service list --service nova-compute -f value -c State 2>/dev/null | grep -q up && break
    sleep 1
  done
  su -s /bin/sh -c "nova-manage cell_v2 discover_hosts" nova 2>/dev/null
  for _ in $(seq 1 60); do
    openstack hypervisor list -f value 2>/dev/null | grep -q fakehost && return 0
    sleep 1
  done
  echo "nova-compute did not register its hypervisor; see $W/log" >&2
  return 1
}

install_packages && step "packages ok"
# Everything this script starts still running: only make sure the tenant is complete.
services="keystone glance placement neutron-server nova-api nova-conductor nova-scheduler nova-compute"
all_running=true
for s in $services; do running "$s" || all_running=false; done
if $all_running && curl -s -o /dev/null http://127.0.0.1:5000/; then
  # shellcheck disable=SC1091
  . "$W/admin-openrc"
  $PY "$here/tenant-setup.py" "$W" && step "already up; tenant ready: $W/cloud.env"
  exit 0
fi
start_db_and_queue && step "mariadb and rabbitmq ok"
keystone && step "keystone ok"
glance && placement && neutron && nova && step "glance, placement, neutron, nova started"
wait_for_compute && step "all services up ($(free -m | awk '/Mem:/{print $3}') MB used)"
$PY "$here/tenant-setup.py" "$W" && step "tenant ready: $W/cloud.env"
