#!/usr/bin/env bash
# Installs every Debian 12 package strata builds, tests and benchmarks with.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
PACKAGES=(
  cmake g++ make pkg-config clang clang-format libclang-rt-14-dev
  libarchive-dev libssl-dev librocksdb-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler libgtest-dev libgmock-dev googletest nlohmann-json3-dev libcli11-dev
  libzstd-dev libre2-dev zlib1g-dev libisal-dev libbenchmark-dev libtomlplusplus-dev
  libcurl4-openssl-dev libcpp-httplib-dev prometheus-cpp-dev libsystemd-dev
  containerd runc util-linux e2fsprogs btrfs-progs python3 docker-registry skopeo umoci systemd systemd-container debootstrap debian-archive-keyring dpkg-dev procps zsh file curl
  git golang-go golang-github-containerd-containerd-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
