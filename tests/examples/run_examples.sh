#!/usr/bin/env bash
# Usage: run_examples.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d /tmp/eventmesh-examples.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { printf '== %s\n' "$*"; }

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

step "configure and build examples/ against the installed package"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache
                                           -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$src/examples" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
  "${launcher[@]}" >/dev/null
cmake --build "$work/build" -j2 >/dev/null

step "build the C example with pkg-config"
pcdir=$(dirname "$(find "$prefix" -name eventmesh_c.pc | head -1)")
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir eventmesh_c)
cc -std=c99 -D_POSIX_C_SOURCE=200809L "$src/examples/c/orders.c" \
  $(pkg-config --cflags --libs eventmesh_c) -pthread -o "$work/orders_c_pc"

run() {  # name command...
  local name=$1
  shift
  step "run $name"
  local out
  out=$("$@")
  printf '%s\n' "$out"
  # Exactly the three new orders: a durable group resumes where it
  # stopped, so a second run on the same data sees no old ones.
  [ "$(grep -c '^billing got orders.created' <<<"$out")" -eq 3 ]
  grep -q 'quote: 42.00' <<<"$out"
}

run C "$work/build/orders_c" "$work/data-c"
run "C (pkg-config)" env LD_LIBRARY_PATH="$libdir" "$work/orders_c_pc" \
  "$work/data-c-pc"
run C++ "$work/build/orders_cpp" "$work/data-cpp"
pydir=$(dirname "$(find "$prefix" -path '*/eventmesh/__init__.py' | head -1)")
run Python env PYTHONPATH="$(dirname "$pydir")" /usr/bin/python3 \
  "$src/examples/python/orders.py" "$work/data-py"
# The durable group resumes where it stopped: run again on the same data.
run "C again" "$work/build/orders_c" "$work/data-c"
step "all examples passed"
