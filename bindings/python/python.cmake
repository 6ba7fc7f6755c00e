# The Python extension eventmesh._core (pybind11, from Debian's
# pybind11-dev) and the pure-Python package around it, assembled in
# <build>/python so that tests can put that directory on PYTHONPATH.
set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "Python for bindings")
find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Module)
set(PYBIND11_FINDPYTHON ON)
find_package(pybind11 2.6 CONFIG REQUIRED)

set(EVENTMESH_PYTHON_DIR ${PROJECT_BINARY_DIR}/python)
file(GLOB EVENTMESH_PYTHON_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc)
pybind11_add_module(eventmesh_python MODULE ${EVENTMESH_PYTHON_SOURCES})
set_target_properties(eventmesh_python PROPERTIES
  OUTPUT_NAME _core
  LIBRARY_OUTPUT_DIRECTORY ${EVENTMESH_PYTHON_DIR}/eventmesh)
target_link_libraries(eventmesh_python PRIVATE eventmesh eventmesh_warnings)

# The pure-Python files, copied beside the module on every build.
file(GLOB EVENTMESH_PYTHON_FILES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/eventmesh/*.py
     ${CMAKE_CURRENT_SOURCE_DIR}/eventmesh/*.pyi
     ${CMAKE_CURRENT_SOURCE_DIR}/eventmesh/py.typed)
add_custom_target(eventmesh_python_package ALL
  COMMAND ${CMAKE_COMMAND} -E make_directory ${EVENTMESH_PYTHON_DIR}/eventmesh
  COMMAND ${CMAKE_COMMAND} -E copy_if_different ${EVENTMESH_PYTHON_FILES}
          ${EVENTMESH_PYTHON_DIR}/eventmesh/
  DEPENDS ${EVENTMESH_PYTHON_FILES}
  COMMENT "Assembling the eventmesh Python package")
add_dependencies(eventmesh_python eventmesh_python_package)

# Installed where Debian's python3 looks for the packages of a prefix.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_em_py_dir lib/python3/dist-packages)
else()
  set(_em_py_dir
      lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/dist-packages)
endif()
set(EVENTMESH_PYTHON_INSTALL_DIR ${_em_py_dir} CACHE STRING
    "Where cmake --install puts the eventmesh Python package")
install(TARGETS eventmesh_python
        LIBRARY DESTINATION ${EVENTMESH_PYTHON_INSTALL_DIR}/eventmesh)
install(FILES ${EVENTMESH_PYTHON_FILES}
        DESTINATION ${EVENTMESH_PYTHON_INSTALL_DIR}/eventmesh)
