#!/usr/bin/env bash
# Installs dependencies, builds, and starts stratad in the foreground on its
# embedded defaults (root /var/lib/strata, socket /run/strata/strata.sock),
# or with whatever flags are passed.
set -euo pipefail
# Needs root (apt-get, overlayfs mounts): re-run through sudo if need be.
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/daemon/stratad "$@"
