#!/usr/bin/env bash
# Generates the debian-rootfs test images (gzip and zstd) into DIR with
# ../shared/images/make-images.sh, unless they are already there. ~1 minute.
set -euo pipefail
OUT=${1:?usage: make-test-images.sh DIR}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${STRATA_SHARED_IMAGES:-$HERE/../shared/images}
if [ -f "$OUT/debian-rootfs.oci.tar" ] && [ -f "$OUT/debian-rootfs-zstd.oci.tar" ] &&
   [ -f "$OUT/debian-rootfs.expected.json" ]; then
  echo "test images present in $OUT"
  exit 0
fi
mkdir -p "$OUT"
bash "$SHARED/make-images.sh" --deps --out "$OUT" --work "${TMPDIR:-/tmp}/strata-images-work"
