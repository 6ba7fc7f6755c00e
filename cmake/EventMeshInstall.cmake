# What `cmake --install` puts in place: the public headers, the core
# library (eventmesh::eventmesh), the C API (eventmesh::capi), a CMake
# package (find_package(eventmesh)) and pkg-config files. The tools and the
# Python package install themselves from their own folders.
include(CMakePackageConfigHelpers)
install(DIRECTORY libeventmesh/include/eventmesh
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(EVENTMESH_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/eventmesh)

# The core links http_parser through a small interface target of ours, so
# that target travels with the export as well.
set(_em_export_targets eventmesh eventmesh_http_parser)
if(TARGET eventmesh_c)
  list(APPEND _em_export_targets eventmesh_c)
endif()
set_target_properties(eventmesh_http_parser PROPERTIES
  EXPORT_NAME http_parser)
install(TARGETS ${_em_export_targets} EXPORT eventmesh-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT eventmesh-targets NAMESPACE eventmesh::
        DESTINATION ${EVENTMESH_CMAKE_INSTALL_DIR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/eventmesh-config.cmake.in
  ${PROJECT_BINARY_DIR}/eventmesh-config.cmake
  INSTALL_DESTINATION ${EVENTMESH_CMAKE_INSTALL_DIR})
# While the major version is 0, a minor release may break the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/eventmesh-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/eventmesh-config.cmake
              ${PROJECT_BINARY_DIR}/eventmesh-config-version.cmake
        DESTINATION ${EVENTMESH_CMAKE_INSTALL_DIR})

# pkg-config: eventmesh (the C++ core) and eventmesh_c (the C API). The
# prefix is computed from the file's own place, so an installed tree can
# be moved (or installed with `cmake --install --prefix`).
set(_em_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH _em_pc_to_prefix /${_em_pc_dir} /)
string(REGEX REPLACE "/$" "" EVENTMESH_PC_PREFIX "\${pcfiledir}/${_em_pc_to_prefix}")
get_target_property(_em_core_type eventmesh TYPE)
if(_em_core_type STREQUAL "STATIC_LIBRARY")
  # A static archive needs its dependencies on every link.
  set(EVENTMESH_PC_REQUIRES "Requires: libuv libzmq lmdb")
  set(EVENTMESH_PC_LIBS_EXTRA "-lhttp_parser -pthread")
else()
  set(EVENTMESH_PC_REQUIRES "Requires.private: libuv libzmq lmdb")
  set(EVENTMESH_PC_LIBS_EXTRA "")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/eventmesh.pc.in
               ${PROJECT_BINARY_DIR}/eventmesh.pc @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/eventmesh_c.pc.in
               ${PROJECT_BINARY_DIR}/eventmesh_c.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/eventmesh.pc DESTINATION ${_em_pc_dir})
if(TARGET eventmesh_c)
  install(FILES ${PROJECT_BINARY_DIR}/eventmesh_c.pc
          DESTINATION ${_em_pc_dir})
endif()
