#!/bin/bash
# Debian packages the tests use besides the local OpenStack's own (devkit/local-cloud/openstack-up.sh):
# shellcheck for the rendered userdata, OpenSSH and iproute2 for the simulated runner hosts,
# e2fsprogs and qemu-utils for building runner images without a VM, jq for the runner scripts,
# openssl for the CA of the TLS front (devkit/local-cloud/tls-front.ts), prometheus for promtool (the
# reconciler's /metrics checked in a test).
set -euo pipefail
pkgs="shellcheck jq openssh-server openssh-client iproute2 e2fsprogs fdisk qemu-utils curl ca-certificates openssl prometheus"
# shellcheck disable=SC2086
if dpkg -s $pkgs >/dev/null 2>&1; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $pkgs
