#!/usr/bin/env bash
# Installs the Debian 12 packages strata needs:
#   install-deps.sh           everything: build, tests and benchmarks
#   install-deps.sh daemon    only what builds and runs stratad and strata
# (scripts/run-daemon.sh uses the second: a new user is serving in minutes,
# without Go, containerd's sources, clang or debootstrap).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
# The libraries and tools the build configures against (CMakeLists.txt), and
# what the daemon runs at run time (mkfs.ext4, losetup, btrfs for sized layers).
DAEMON_PACKAGES=(
  cmake g++ make pkg-config git
  libarchive-dev libssl-dev librocksdb-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler libgtest-dev libgmock-dev googletest nlohmann-json3-dev libcli11-dev
  libzstd-dev libre2-dev zlib1g-dev libisal-dev libbenchmark-dev libtomlplusplus-dev
  libcurl4-openssl-dev libcpp-httplib-dev prometheus-cpp-dev libsystemd-dev
  util-linux mount e2fsprogs btrfs-progs
)
# What the tests, fuzzers and checks call: real peers (containerd, runc, a
# registry, skopeo, umoci, Go for containerd's conformance suite), clang for
# the fuzzers and the thread-safety check, the package test's Debian.
TEST_PACKAGES=(
  clang clang-format libclang-rt-14-dev ccache
  containerd runc python3 docker-registry skopeo umoci systemd systemd-container debootstrap
  debian-archive-keyring dpkg-dev procps zsh file curl man-db busybox-static openssl
  golang-go golang-github-containerd-containerd-dev
)
PACKAGES=("${DAEMON_PACKAGES[@]}")
APT_FLAGS=(--no-install-recommends)  # the daemon alone: only what it needs
if [ "${1:-all}" != daemon ]; then
  PACKAGES+=("${TEST_PACKAGES[@]}")
  APT_FLAGS=()
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${APT_FLAGS[@]}" "${missing[@]}"
fi
