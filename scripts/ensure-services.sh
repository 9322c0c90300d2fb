#!/usr/bin/env bash
# The tests talk to a real PostgreSQL (127.0.0.1:5432, trust, user postgres) and a real Redis
# (127.0.0.1:6379). Start each when it is down; install it from Debian's packages when missing.
set -euo pipefail

apt_updated=0
apt_install() {
  if [[ $apt_updated == 0 ]]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # seconds, description, command...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "error: $what" >&2
  return 1
}

ensure_postgres() {
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && return 0
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
    local version; version=$(ls /etc/postgresql | sort -V | tail -n1)
    # A cluster we installed ourselves: let local test connections in as postgres without a password.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    grep -q "control plane tests" "$hba" || sed -i "1i host all all 127.0.0.1/32 trust  # control plane tests" "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  wait_for 30 "PostgreSQL is not answering on 127.0.0.1:5432 (the postgres tests need it)" \
    pg_isready -q -h 127.0.0.1 -p 5432
}

ensure_redis() {
  command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
  wait_for 15 "Redis is not answering on 127.0.0.1:6379 (the cache tests need it)" \
    redis-cli -h 127.0.0.1 -p 6379 ping
}

case "${1:-all}" in
  postgres) ensure_postgres ;;
  redis) ensure_redis ;;
  all) ensure_postgres; ensure_redis ;;
  *) echo "usage: $0 [postgres|redis|all]" >&2; exit 2 ;;
esac
