#!/usr/bin/env bash
# Kept for scripts that call it: PostgreSQL only (make bench, make load).
exec "$(dirname "$0")/ensure-services.sh" postgres
