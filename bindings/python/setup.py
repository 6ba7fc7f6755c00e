"""Builds and installs the eventmesh Python package with setuptools and
Debian's pybind11, offline. From the repository root:

    cmake -S . -B build && cmake --build build -j2 --target eventmesh
    python3 -m venv --system-site-packages /tmp/emvenv
    EVENTMESH_BUILD_DIR=$PWD/build /tmp/emvenv/bin/pip install \
        --no-build-isolation --no-index bindings/python

Without EVENTMESH_BUILD_DIR the extension is built against an installed
EventMesh found with pkg-config (`cmake --install build`, and
PKG_CONFIG_PATH pointing at its lib/pkgconfig when not under /usr).
"""

import glob
import os
import shlex
import subprocess

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def pkg_config(*args):
    out = subprocess.run(["pkg-config", *args], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


def source_dir(build_dir):
    """The source tree a CMake build directory was configured from."""
    with open(os.path.join(build_dir, "CMakeCache.txt")) as cache:
        for line in cache:
            if line.startswith("CMAKE_HOME_DIRECTORY:"):
                return line.split("=", 1)[1].strip()
    return ROOT


def core_flags():
    """Compile and link flags for the core library: the in-tree build when
    EVENTMESH_BUILD_DIR names one, else the installed eventmesh.pc."""
    build_dir = os.environ.get("EVENTMESH_BUILD_DIR")
    if build_dir:
        archive = os.path.join(build_dir, "libeventmesh", "libeventmesh.a")
        if not os.path.exists(archive):
            raise SystemExit(f"{archive} is missing: build the eventmesh "
                             f"target in {build_dir} first")
        deps = pkg_config("--libs", "libuv", "libzmq", "lmdb")
        return ([os.path.join(source_dir(build_dir), "libeventmesh",
                              "include")], [archive], deps + ["-pthread"])
    cflags = pkg_config("--cflags", "eventmesh")
    libs = pkg_config("--static", "--libs", "eventmesh")
    includes = [f[2:] for f in cflags if f.startswith("-I")]
    return includes, [], libs


includes, objects, libs = core_flags()
ext = Pybind11Extension(
    "eventmesh._core",
    sorted(glob.glob(os.path.join("src", "*.cc"))),
    include_dirs=includes,
    extra_objects=objects,
    extra_link_args=libs,
    cxx_std=20,
)

setup(
    name="eventmesh",
    version="0.1.0",
    description="EventMesh: an embeddable CloudEvents mesh",
    packages=["eventmesh"],
    package_data={"eventmesh": ["py.typed", "*.pyi"]},
    ext_modules=[ext],
    cmdclass={"build_ext": build_ext},
    python_requires=">=3.9",
    zip_safe=False,
)
