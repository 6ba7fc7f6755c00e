#!/usr/bin/env bash
# Configures and builds EventMesh into build/<type>. Usage:
#   tools/build.sh [release|debug|asan|tsan] [cmake args...] [--target T]
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-release}
shift || true
args=()
case "$kind" in
  release) args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  debug) args+=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan) args+=(-DCMAKE_BUILD_TYPE=Debug
               -DEVENTMESH_SANITIZE=address,undefined
               -DEVENTMESH_BUILD_PYTHON=OFF) ;;
  tsan) args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
               -DEVENTMESH_SANITIZE=thread -DEVENTMESH_BUILD_PYTHON=OFF) ;;
  *) echo "usage: tools/build.sh [release|debug|asan|tsan]" >&2; exit 2 ;;
esac
if command -v ccache >/dev/null; then
  # Paths relative to the checkout, so another clone hits the same cache.
  export CCACHE_BASEDIR=$PWD
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
         -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
[ "${CI:-}" = "true" ] && args+=(-DEVENTMESH_WERROR=ON)

# Arguments after the kind go to CMake, except "--target NAME", which
# builds only that target.
targets=()
cmake_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--target" ] && [ $# -gt 1 ]; then
    targets+=(--target "$2")
    shift 2
  else
    cmake_args+=("$1")
    shift
  fi
done
cmake -S . -B "build/$kind" "${args[@]}" "${cmake_args[@]}" >/dev/null
cmake --build "build/$kind" -j "$(nproc)" "${targets[@]}"
