#!/usr/bin/env bash
# Installs the Debian 12 packages EventMesh builds, tests and benchmarks
# with, skipping those already present. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache clang clang-format
  libclang-rt-14-dev
  libuv1-dev libzmq3-dev cppzmq-dev liblmdb-dev lmdb-utils
  nlohmann-json3-dev libtomlplusplus-dev libhttp-parser-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-pybind11 python3-dev python3-setuptools
  python3-pytest python3-zmq python3-pip
  curl nats-server libnats-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
