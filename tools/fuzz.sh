#!/usr/bin/env bash
# Builds every fuzz target (tests/fuzz/*_fuzz.cc) with clang, libFuzzer,
# ASan and UBSan into build/fuzz, then fuzzes each for SECONDS on a copy of
# its seed corpus. Exits non-zero when a target crashes, leaks or fails a
# check. Usage:
#   tools/fuzz.sh [SECONDS]        (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
case "$seconds" in
  ''|*[!0-9]*) echo "usage: tools/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
build=build/fuzz
jobs=$(nproc)

# A small build: no tools, no Python; only the fuzz targets are compiled.
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
      -DEVENTMESH_FUZZ=ON -DEVENTMESH_BUILD_TOOLS=OFF
      -DEVENTMESH_BUILD_PYTHON=OFF)
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
                                       -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" "${args[@]}" >/dev/null
cmake --build "$build" --target eventmesh_fuzz_targets -j "$jobs"

failed=()
for src in tests/fuzz/*_fuzz.cc; do
  target=$(basename "$src" .cc)
  name=${target%_fuzz}
  printf '\n=== fuzzing %s for %ss\n' "$name" "$seconds"

  # Fuzz a copy so the committed seeds stay small.
  work="$build/corpus/$name"
  artifacts="$build/artifacts/$name/"
  rm -rf "$work"
  mkdir -p "$work" "$artifacts"
  cp -R "tests/fuzz/corpus/$name/." "$work/"
  extra=()
  [ -f "tests/fuzz/$name.dict" ] && extra+=(-dict="tests/fuzz/$name.dict")

  if ! "$build/tests/fuzz/$target" "$work" "${extra[@]}" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" -print_final_stats=1 \
      >"$build/$name.log" 2>&1; then
    tail -n 40 "$build/$name.log" >&2
    failed+=("$name")
  else
    grep -E '^stat::number_of_executed_runs|^Done' "$build/$name.log" || true
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "all fuzz targets ran for ${seconds}s without a finding"
