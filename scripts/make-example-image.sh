#!/usr/bin/env bash
# Writes a small image as an OCI archive, from nothing but Debian's
# busybox-static: /bin/busybox with its applets as links, /bin/sh among them.
# The Quick start imports it, so a fresh clone needs nothing else.
#   scripts/make-example-image.sh OUT.tar [NAME]   (NAME: example.test/busybox:1)
set -euo pipefail
OUT=${1:?usage: make-example-image.sh OUT.tar [NAME]}
NAME=${2:-example.test/busybox:1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The installed busybox-static if there is one, else its package, unpacked here.
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || true)
if [ -z "$busybox" ]; then
  (cd "$work" && apt-get download -q busybox-static > /dev/null)
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/pkg"
  busybox=$work/pkg/bin/busybox
fi
root=$work/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for app in $("$root/bin/busybox" --list); do
  [ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"

created=2024-01-01T00:00:00Z
blobs=$work/oci/blobs/sha256
mkdir -p "$blobs"
put() {  # put FILE: stores it as a blob; prints "sha256:HEX SIZE"
  local hex
  hex=$(sha256sum < "$1" | cut -d' ' -f1)
  cp "$1" "$blobs/$hex"
  echo "sha256:$hex $(stat -c %s "$1")"
}
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime="$created" -C "$root" -cf "$work/layer.tar" .
diff_id=sha256:$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"
read -r layer layer_size < <(put "$work/layer.tar.gz")
arch=$(dpkg --print-architecture)
cat > "$work/config.json" <<JSON
{"architecture":"$arch","os":"linux","created":"$created",
 "config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"],"WorkingDir":"/root"},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"$created","created_by":"scripts/make-example-image.sh: Debian's busybox-static"}]}
JSON
read -r config config_size < <(put "$work/config.json")
cat > "$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config","size":$config_size},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$layer","size":$layer_size}]}
JSON
read -r manifest manifest_size < <(put "$work/manifest.json")
cat > "$work/oci/index.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
 "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest","size":$manifest_size,
   "annotations":{"io.containerd.image.name":"$NAME","org.opencontainers.image.ref.name":"${NAME##*:}"}}]}
JSON
printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
tar -C "$work/oci" -cf "$OUT" oci-layout index.json blobs
echo "wrote $OUT: $NAME ($(stat -c %s "$OUT") bytes)"
