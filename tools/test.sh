#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite EventMesh has:
# unit, integration, Python and CLI tests on a release build; the unit tests
# again under AddressSanitizer+UBSan and ThreadSanitizer; a short run of
# every fuzz target. With CI=true it also checks formatting and builds with
# -Werror. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
jobs=$(nproc)
stage() { printf '\n=== %s\n' "$*"; }

if [ "${CI:-}" = "true" ]; then
  stage "format check"
  files=$(git ls-files '*.cc' '*.h' '*.c')
  clang-format --dry-run --Werror $files
fi

stage "release build"
tools/build.sh release
stage "release tests"
ctest --test-dir build/release --output-on-failure -j "$jobs" \
  --timeout 300

stage "address+undefined sanitizer build"
tools/build.sh asan -DEVENTMESH_BUILD_TOOLS=OFF
stage "unit tests under ASan+UBSan"
ctest --test-dir build/asan --output-on-failure -j "$jobs" -L unit \
  --timeout 300

stage "thread sanitizer build"
tools/build.sh tsan -DEVENTMESH_BUILD_TOOLS=OFF
stage "unit tests under TSan"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build/tsan --output-on-failure -j "$jobs" -L unit \
  --timeout 300

if [ -d tests/fuzz ]; then
  stage "fuzz targets (short runs)"
  tools/fuzz.sh 20
fi
stage "all tests passed"
