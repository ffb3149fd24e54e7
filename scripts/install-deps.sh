#!/bin/sh
# Install everything gate needs to build, test and run its demo on Debian 12.
# Idempotent; run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
# The postgresql-15 package would create and start a 15/main cluster; gate's
# tests and demo make their own clusters in temporary directories.
if [ ! -e /etc/postgresql-common/createcluster.d/nomain.conf ]; then
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/nomain.conf
fi
apt-get update -q
apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates \
  libyaml-dev libpq-dev libcurl4-openssl-dev libsystemd-dev libjansson-dev libcmocka-dev libssl-dev \
  postgresql-15 postgresql-client-15 pgbackrest \
  monitoring-plugins-basic check-postgres jq \
  systemd dbus-user-session \
  prometheus prometheus-alertmanager etcd-server etcd-client patroni \
  python3 curl iproute2 procps util-linux libxml2-utils perl valgrind tmux \
  hyperfine time openssl pre-commit groff-base \
  clang libclang-rt-14-dev clang-format \
  libmicrohttpd-dev debhelper dpkg-dev lintian fakeroot
