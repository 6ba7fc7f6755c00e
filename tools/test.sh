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

# The sanitizer builds compile only the library and the unit tests: they
# are where the threads and the parsers are exercised hardest, and it keeps
# a CI run within its time.
stage "unit tests under AddressSanitizer + UBSan"
tools/build.sh asan -DEVENTMESH_BUILD_TOOLS=OFF --target eventmesh_unit_tests
ASAN_OPTIONS="detect_leaks=1" build/asan/tests/eventmesh_unit_tests \
  --gtest_brief=1

stage "unit tests under ThreadSanitizer"
tools/build.sh tsan -DEVENTMESH_BUILD_TOOLS=OFF --target eventmesh_unit_tests
tsan_options="halt_on_error=1 second_deadlock_stack=1"
TSAN_OPTIONS="$tsan_options suppressions=$PWD/tools/tsan.supp" \
  build/tsan/tests/eventmesh_unit_tests --gtest_brief=1

if [ -d tests/fuzz ]; then
  stage "fuzz targets (short runs)"
  tools/fuzz.sh 20
fi
stage "all tests passed"
