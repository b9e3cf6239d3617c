#!/usr/bin/env bash
# Installs dependencies, builds, and starts stratad in the foreground on its
# embedded defaults (root /var/lib/strata, socket /run/strata/strata.sock),
# or with whatever flags are passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/daemon/stratad "$@"
