#!/usr/bin/env bash
# The PostgreSQL tests talk to the real server on 127.0.0.1:5432; start it when it is down.
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && exit 0
  sleep 1
done
echo "error: PostgreSQL is not answering on 127.0.0.1:5432 (the postgres tests need it)" >&2
exit 1
