#!/usr/bin/env bash
# Installs the eventmesh package with pip, offline, into a fresh venv that
# sees Debian's setuptools and pybind11, from a copy of bindings/python
# (so the source tree stays clean), then uses it.
# Usage: pip_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d /tmp/eventmesh-pip.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$src/bindings/python" "$work/pkg"
rm -rf "$work/pkg/build"
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
EVENTMESH_BUILD_DIR=$build "$work/venv/bin/pip" install --quiet \
  --no-build-isolation --no-index "$work/pkg"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import eventmesh
assert "site-packages" in eventmesh.__file__, eventmesh.__file__
with eventmesh.open("mem:") as mesh:
    sub = mesh.subscribe("pip.>", timeout=2)
    mesh.publish_many("pip.check", [b"a", b"b"], type="t", source="/pip")
    assert [e.data for e in sub] == [b"a", b"b"]
print("pip-installed eventmesh", eventmesh.__version__, "works")
PY
