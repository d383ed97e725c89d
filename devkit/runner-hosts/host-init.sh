#!/bin/bash
# PID 1 of a simulated runner host. The simulator starts it in the host's network namespace as
#   nsenter --net=/run/netns/<ns> unshare --mount --uts --pid --fork --kill-child --mount-proc \
#     bash host-init.sh <host folder> <hostname>
# It builds the host's private view of the filesystem, creates the user ubuntu (in the host's
# copy of /etc only), prints "ready <uid of ubuntu>", then waits, reaping orphans, until the
# simulator closes its stdin or kills it. When it ends, the kernel kills every process of the host.
set -euo pipefail
H=$1
name=$2

# /etc, /usr and /opt: copy-on-write overlays of the machine's; changes land in $H/overlay/<dir>.
overlay() {
  mkdir -p "$H/overlay/$1/upper" "$H/overlay/$1/work"
  mount -t overlay "runner-host-$1" \
    -o "lowerdir=/$1,upperdir=$H/overlay/$1/upper,workdir=$H/overlay/$1/work" "/$1"
}
overlay etc
# The host folder may be under a folder bound over below (/tmp, /home...): reach it through a
# bind mount in the host's own /etc until everything is mounted.
mkdir -p /etc/.runner-host
mount --bind "$H" /etc/.runner-host
H=/etc/.runner-host
# The runner's user, in this host's /etc only; before /usr, whose useradd is a shim. sshd
# (UsePAM no) refuses locked accounts: '*' is no password, yet not locked.
if ! getent passwd ubuntu >/dev/null; then
  uid=()
  getent passwd 1000 >/dev/null || getent group 1000 >/dev/null || uid=(-u 1000)
  useradd "${uid[@]}" -U -M -d /home/ubuntu -s /bin/bash ubuntu
fi
usermod -p '*' ubuntu
overlay usr
overlay opt
mount -t tmpfs -o mode=0755,size=64m runner-host-run /run
mkdir -p /run/sshd /run/lock /run/runner-host
mount --bind "$H" /run/runner-host
# The host's own folders, from $H/fs/<path with / as ->.
for d in home root tmp etc/ssh etc/docker var/lib/cloud var/log; do
  mkdir -p "/$d"
  mount --bind "$H/fs/${d//\//-}" "/$d"
done
umount -l /etc/.runner-host
rmdir /etc/.runner-host
# sysfs of this network namespace (what `ip netns exec` does too).
mount -t sysfs runner-host-sys /sys 2>/dev/null || true

mkdir -p /home/ubuntu
chown -R ubuntu:ubuntu /home/ubuntu

hostname "$name"
echo "$name" >/etc/hostname
printf '127.0.1.1 %s\n' "$name" >>/etc/hosts

echo "ready $(id -u ubuntu)"
while read -r _; do :; done
