#!/usr/bin/env bash
# The Debian package, end to end: built by cpack from this build, installed
# with apt into a clean Debian 12 made by debootstrap (apt resolves the
# package's dependencies, as on a user's machine), then a real systemd boots
# in that tree (systemd-nspawn) and runs it: `systemctl start strata` returns
# once the socket serves (Type=notify), the CLI on PATH talks to it on the
# default socket, logs reach the journal as structured fields, `systemctl
# reload` re-reads the config, `systemctl stop` drains; `cmake --install`
# lays out the same files. Usage: package_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /var/tmp/strata-package-test.XXXXXX)
ROOT=$WORK/root
NSPAWN_PID=
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
cleanup() {
  if [ -n "$NSPAWN_PID" ]; then kill "$NSPAWN_PID" 2>/dev/null || true; wait "$NSPAWN_PID" 2>/dev/null || true; fi
  for m in $(grep -o " $ROOT[^ ]*" /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== cpack"
(cd "$BUILD" && cpack -G DEB -B "$WORK/out" >/dev/null)
DEB=$(ls "$WORK"/out/strata_*.deb)
CONTENTS=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/stratad ./usr/bin/strata ./usr/lib/systemd/system/strata.service \
         ./etc/strata/config.toml ./usr/share/bash-completion/completions/strata \
         ./usr/share/zsh/vendor-completions/_strata; do
  grep -qx "$f" <<<"$CONTENTS" || fail "package lacks $f"
done
dpkg-deb -I "$DEB" conffiles | grep -qx /etc/strata/config.toml || fail "config.toml is not a conffile"

echo "== cmake --install (DESTDIR)"
DESTDIR=$WORK/inst cmake --install "$BUILD" --prefix /usr/local >/dev/null
for f in usr/local/bin/stratad usr/local/bin/strata usr/local/lib/systemd/system/strata.service etc/strata/config.toml; do
  [ -e "$WORK/inst/$f" ] || fail "cmake --install did not install $f"
done
grep -qx "ExecStart=/usr/local/bin/stratad" "$WORK/inst/usr/local/lib/systemd/system/strata.service" \
  || fail "the unit does not name the installed stratad"

echo "== debootstrap a clean Debian 12"
debootstrap --variant=minbase --include=systemd,dbus bookworm "$ROOT" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
cp "$DEB" "$ROOT/tmp/strata.deb"
echo "== apt-get install ./strata.deb in it"
chroot "$ROOT" apt-get install -y -q /tmp/strata.deb >"$WORK/apt.log" 2>&1 \
  || { tail -20 "$WORK/apt.log"; fail "apt-get install of the package"; }
chroot "$ROOT" systemd-analyze verify /usr/lib/systemd/system/strata.service \
  || fail "systemd-analyze verify"
# A setting the reload test changes later.
sed -i 's/^# log_level = .*/log_level = "info"/' "$ROOT/etc/strata/config.toml"

echo "== boot systemd in it"
systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit >"$WORK/boot.log" 2>&1 &
NSPAWN_PID=$!
INIT=
for _ in $(seq 100); do
  INIT=$(pgrep -P "$NSPAWN_PID" -x systemd || true)
  if [ -n "$INIT" ]; then
    state=$(nsenter -t "$INIT" -m -u -i -n -p systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
  fi
  sleep 0.2
done
[ -n "$INIT" ] || { cat "$WORK/boot.log"; fail "systemd did not boot"; }
in_box() { nsenter -t "$INIT" -m -u -i -n -p "$@"; }
# journald writes what it is sent a moment later: wait up to 10 s for a line.
# (Read into a file first: under pipefail, grep -q leaving early would fail
# the pipe with journalctl's SIGPIPE.)
journal_has() {
  for _ in $(seq 50); do
    in_box journalctl -u strata -o json --no-pager >"$WORK/journal.json"
    grep -q "$1" "$WORK/journal.json" && return 0
    sleep 0.2
  done
  return 1
}

echo "== systemctl start strata"
in_box systemctl is-enabled strata | grep -qx enabled || fail "the package did not enable the unit"
in_box timeout 60 systemctl start strata || { in_box journalctl -u strata --no-pager | tail; fail "start"; }
in_box systemctl is-active strata | grep -qx active || fail "strata is not active"
# Type=notify: start returned, so the socket already serves.
in_box strata info >"$WORK/info.txt" || fail "strata info on the default socket"
grep -q "socket:.*/run/strata/strata.sock" "$WORK/info.txt" || fail "info: $(cat "$WORK/info.txt")"
grep -q "config file:.*/etc/strata/config.toml" "$WORK/info.txt" || fail "info names no config"
in_box strata import - <"$SRC/../shared/images/prebuilt/busybox.oci.tar" >/dev/null \
  || fail "import through the packaged daemon"
in_box strata images | grep -q busybox || fail "imported image not listed"

echo "== the journal"
journal_has '"STRATA_SOCKET":"/run/strata/strata.sock"' \
  || fail "no structured STRATA_SOCKET field in the journal"
journal_has '"MESSAGE":"call method=/strata.v1.Images/Import' \
  || fail "the import call is not in the journal"

echo "== systemctl reload strata"
sed -i 's/^log_level = .*/log_level = "debug"/' "$ROOT/etc/strata/config.toml"
in_box systemctl reload strata || fail "reload"
journal_has '"STRATA_LOG_LEVEL":"debug"' || fail "reload did not apply log_level"
in_box systemctl is-active strata | grep -qx active || fail "not active after reload"

echo "== systemctl stop strata"
in_box timeout 60 systemctl stop strata || fail "stop"
journal_has '"MESSAGE":"stopped"' || fail "no clean stop logged"
in_box systemctl show strata -p Result | grep -qx "Result=success" || fail "stop was not clean"
echo "package_test: OK"
