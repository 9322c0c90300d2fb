#!/usr/bin/env bash
# Installs the Debian packages the control plane needs when they are missing:
# graphviz (`dot`) always, chromium with --browser (for the browser tests).
# Fails loudly when a package cannot be installed.
set -euo pipefail

want=()
command -v dot >/dev/null 2>&1 || want+=(graphviz)
if [[ "${1:-}" == "--browser" ]]; then
  command -v chromium >/dev/null 2>&1 || want+=(chromium fonts-dejavu-core)
fi
[[ ${#want[@]} -eq 0 ]] && exit 0

echo "Installing Debian packages: ${want[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "error: ${want[*]} missing and not running as root; install them with apt-get." >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
for cmd in dot ${1:+chromium}; do
  [[ "$cmd" == "--browser" ]] && continue
  command -v "$cmd" >/dev/null 2>&1 || { echo "error: $cmd still missing after apt-get install" >&2; exit 1; }
done
